package schema

import "github.com/bluesky-social/indigo/atproto/lexicon"

// Catalog hands the tests in package schema_test the catalog of the embedded
// io.atcr.* lexicons that every Validate function uses.
func Catalog() (lexicon.Catalog, error) {
	return loadCatalog()
}
