// Package pdsread is where the AppView reads users' repositories: anonymous
// com.atproto.repo.getRecord, listRecords and com.atproto.sync.getBlob
// against the account's own PDS (ATCR's records are public data, and anyone
// may pull), owner resolution (handle or DID → verified identity → PDS
// endpoint), and the decoding of io.atcr.manifest and io.atcr.tag records.
//
// Where things are:
//
//   - account.go: Account and Resolve.
//   - errors.go: the one classification of PDS and resolution failures:
//     ErrNotFound, ErrRecordNotFound, ErrSuspended, ErrUnavailable.
//   - reader.go: Reader, the guarded HTTP client's three reads.
//   - records.go: ManifestRecord and TagRecord, their record keys and
//     AT-URIs, and the size rule for manifest records.
//   - listing.go: one account's manifest and tag records in one bounded
//     pass (Reader.ListRepository).
//   - holds.go: the hold a record names (a DID, or the URL of old
//     records).
//
// The registry's storage (pkg/appview/storage) and the web UI's pages
// (pkg/appview/browse) both read through this package and put its errors
// into their own vocabulary (registry.ErrNameUnknown, browse.ErrNotFound,
// …). The owner's writes are not here: they need the owner's credentials
// and live with the registry's storage.
//
// Records are user-controlled input: digests, tags and repository paths are
// parsed with pkg/oci before a record is accepted, and every response is
// bounded in time and size.
package pdsread
