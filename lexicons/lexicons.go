// Package lexicons embeds the io.atcr.* Lexicon schema files, the source of
// truth for ATCR's record and XRPC types. pkg/atproto/schema validates
// against them and internal/lexgen generates pkg/atproto/atcr from them.
package lexicons

import "embed"

// FS holds every lexicon file at a path mirroring its NSID, e.g.
// io/atcr/hold/captain.json for io.atcr.hold.captain.
//
//go:embed io
var FS embed.FS
