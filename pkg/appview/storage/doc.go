// Package storage is the AppView's ATProto-backed implementation of the
// registry's services (pkg/appview/registry): manifests and tags are records
// in the owner's PDS, blobs live in a hold reached over XRPC, and the
// AppView keeps caches and in-flight upload sessions in memory and blob
// tombstones (Options.Tombstones) in its database.
//
// Where things are:
//
//   - store.go: Options, New, the Store that implements every
//     registry service, and the Sessions interface it needs from
//     pkg/appview/pdssession.
//   - resolve.go: repository owner resolution through the identity directory.
//   - pdsread.go, pdswrite.go: anonymous reads of public records and blobs
//     (getRecord, listRecords, sync.getBlob) and the owner's writes
//     (uploadBlob, createRecord, putRecord, deleteRecord).
//   - records.go: io.atcr.manifest and io.atcr.tag records and their keys.
//   - index.go: the per-DID repository index (manifests and tags listed
//     from the PDS, updated by our own writes, refreshed after a TTL) that
//     answers tag lists, referrers, digest lookups and the catalog.
//   - manifests.go, references.go, tags.go, referrers.go, catalog.go: the
//     services (references.go checks what a pushed manifest needs).
//   - holds.go: which hold a push goes to, and where a hold DID is served.
//   - holdclient.go: every call the AppView makes to a hold, in one file.
//   - blobs.go: HEAD (stat) and GET (presigned redirect) with their caches.
//   - unlink.go: blob DELETE as a per-repository unlink (tombstones in the
//     AppView database, consulted before the caches), mounts, and the
//     relink of an upload; the bytes stay in the hold.
//   - uploads.go, uploadwrite.go, partsender.go, budget.go: upload
//     sessions that stream PATCH bodies through pooled part buffers to
//     presigned S3 part URLs (two parts in flight while the next fills),
//     within one memory budget.
//   - cache.go: small bounded LRU caches with per-entry expiry.
//
// Nothing is buffered whole: a streaming chunk holds at most three part
// buffers (Options.PartSize) while its request runs, an idle session only
// its remainder (under MinPartSize, counted by its size), and all of them
// together at most Options.MaxBufferedBytes. See docs/registry.md.
package storage
