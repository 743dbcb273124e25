// Package codegen turns Lexicon schema files into Go types: one gofmt'ed file
// per NSID plus an index file with NSID constants, XRPC error names and
// constructors keyed by NSID. It backs the lexgen command and the
// up-to-date test of pkg/atproto/atcr.
//
// The output is JSON-only on purpose. indigo's lexgen emits types that need a
// second cbor-gen pass before they compile and maps "unknown" fields to
// $type-dispatched decoders; ATCR encodes records to CBOR from JSON-shaped
// maps (atcr.ToMap + atdata.MarshalCBOR), so plain structs with JSON tags are
// all it needs.
//
// Mapping from Lexicon to Go:
//
//	string, at-uri, did, datetime, …   string (optional: omitempty, empty = absent)
//	integer                            int64 (optional: *int64, so 0 stays visible)
//	boolean                            bool (optional: *bool)
//	blob                               atdata.Blob (optional: *atdata.Blob)
//	bytes / cid-link                   atdata.Bytes / atdata.CIDLink
//	unknown                            map[string]any
//	array                              slice of the item type
//	ref to an object def               the def's struct (optional: pointer)
//
// Inline objects and unions are rejected: declare a named def instead, which
// also gives the Go type a stable name.
package codegen
