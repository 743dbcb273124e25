// Package directory builds the identity directory both binaries use to turn a
// handle or DID into a verified identity: DID document, PDS endpoint, signing
// key.
//
// It is indigo's atproto/identity (BaseDirectory behind a CacheDirectory),
// configured with a PLC URL and the guarded HTTP client from safehttp, so
// every DID-document and handle fetch obeys the same scheme, address and size
// rules. Handles are verified both ways: the DID document's alsoKnownAs must
// name the handle that resolved to it.
//
// The cache in front (cache.go) is bounded in entries and in estimated
// bytes (Options.CacheBytes); every response the directory reads is capped
// at MaxDocumentBytes (64 KiB); a DID or handle that does not exist is
// remembered for NotFoundTTL, other failures for ErrTTL; concurrent
// lookups of one key share one fetch, which is cancelled when every caller
// waiting for it has gone; and Options.BeforeFetch lets a server
// rate-limit the lookups its callers cause (only cache misses reach it).
// An identity that can never resolve here — a DID method other than plc
// and web, a did:web on an IP address or a reserved TLD, a host the
// guarded client refuses — is reported as not found rather than as an
// outage (refusals.go), so callers answer 401/404, not 502.
//
// With InsecureLocalDev (and only then) two relaxations exist for a laptop
// stack, both limited to loopback hosts: did:web identities on a loopback
// host:port are fetched over plain http, and handles are resolved through a
// local PDS's com.atproto.identity.resolveHandle. New refuses the relaxation
// settings without the switch. See docs/identity.md.
package directory
