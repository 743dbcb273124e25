package schema

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/bluesky-social/indigo/atproto/lexicon"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/lexicons"
)

// Namespace is the NSID prefix whose lexicons ATCR owns and validates.
const Namespace = "io.atcr."

var (
	// ErrUnknownLexicon is returned for an io.atcr.* NSID that has no
	// lexicon of the expected kind (record, procedure or query).
	ErrUnknownLexicon = errors.New("no lexicon for NSID")
	// ErrInvalid is returned when data does not match its lexicon. The
	// error text says which field and rule failed.
	ErrInvalid = errors.New("does not match lexicon")
)

// strict are the validation flags used everywhere: no lenient datetimes, no
// legacy blobs, and unresolvable refs fail instead of passing silently.
const strict lexicon.ValidateFlags = lexicon.StrictRecursiveValidation

var loadCatalog = sync.OnceValues(func() (*lexicon.BaseCatalog, error) {
	cat := lexicon.NewBaseCatalog()
	if err := cat.LoadEmbedFS(lexicons.FS); err != nil {
		return nil, fmt.Errorf("load embedded lexicons: %w", err)
	}
	return cat, nil
})

// owned reports whether nsid is in ATCR's namespace, after checking that it
// is an NSID at all.
func owned(nsid string) (bool, error) {
	if _, err := syntax.ParseNSID(nsid); err != nil {
		return false, fmt.Errorf("invalid NSID %q: %w", nsid, err)
	}
	return strings.HasPrefix(nsid, Namespace), nil
}

// resolveMain returns the primary definition of an owned NSID.
func resolveMain(nsid string) (lexicon.Catalog, any, error) {
	cat, err := loadCatalog()
	if err != nil {
		return nil, nil, err
	}
	s, err := cat.Resolve(nsid)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrUnknownLexicon, nsid)
	}
	return cat, s.Def, nil
}

func resolveRecord(collection string) (lexicon.Catalog, lexicon.SchemaRecord, error) {
	cat, def, err := resolveMain(collection)
	if err != nil {
		return nil, lexicon.SchemaRecord{}, err
	}
	rec, ok := def.(lexicon.SchemaRecord)
	if !ok {
		return nil, lexicon.SchemaRecord{}, fmt.Errorf("%w: %s is not a record type", ErrUnknownLexicon, collection)
	}
	return cat, rec, nil
}
