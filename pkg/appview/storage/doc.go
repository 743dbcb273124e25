// Package storage is the AppView's ATProto-backed implementation of the
// registry's services (pkg/appview/registry): manifests and tags are records
// in the owner's PDS, blobs live in a hold. The services are thin adapters
// over three packages that own the hard parts:
//
//   - pkg/appview/pdsread: anonymous reads of the owner's records and
//     manifest bytes, owner resolution, record decoding;
//   - pkg/appview/holdclient: every call to a hold;
//   - pkg/appview/uploads: upload sessions and their memory budget.
//
// What stays here is the registry's view of them: where a push goes, which
// holds a pull asks, the caches, the owner's writes and the per-DID index.
//
// Where things are:
//
//   - store.go: Options, New, the Store that implements every registry
//     service, and ActAs, how it acts as the user to write records and
//     call holds.
//   - resolve.go: registry.Resolver over pdsread.Resolve.
//   - pdsread.go: the reads, with pdsread's errors in the registry's terms.
//   - pdswrite.go: the owner's writes (uploadBlob, createRecord,
//     putRecord, deleteRecord, applyWrites, and the swapRecord forms that
//     undo a refused push) through the owner's authenticated client.
//   - records.go: building io.atcr.manifest records to write.
//   - index.go: the per-DID repository index (manifests and tags listed
//     from the PDS, updated by our own writes, refreshed after a TTL) that
//     answers tag lists, referrers, digest lookups and the catalog.
//   - coherence.go, coherencechange.go: with Options.Redis, read-your-
//     writes across the AppViews sharing it: each write to an account's
//     manifest or tag records bumps the account's version, logs the change
//     and publishes it; every AppView applies the changes to its index in
//     version order, and index misses and cached tags compare versions,
//     catching up from the log when behind (see docs/cluster.md).
//   - manifests.go, references.go, tags.go, referrers.go, catalog.go: the
//     services (references.go checks what a pushed manifest needs).
//   - manifestput.go, manifestbatch.go: PutManifest — the manifest's bytes
//     uploaded while the hold is asked for its blobs, the manifest record
//     and its tags in one applyWrites, the hold notified after, and a
//     refused push withdrawn (tags put back, then the record).
//   - pushbatch.go: group commit — the owner's pushes that wait while an
//     applyWrites of the owner is in flight share the next call.
//   - holds.go: which hold a push goes to (a retired hold's successor, by
//     Options.Successors; pulls never ask it), and ForgetPushHold, which
//     the web UI calls after it changed a user's default hold.
//   - blobs.go: HEAD (stat) and GET (presigned redirect) with their caches.
//   - holddown.go: a hold whose blob lookup timed out is asked last for a
//     while.
//   - indexhints.go: past a truncated repository index, manifests by
//     digest and tag names from Options.IndexHints (the web UI's index),
//     manifests read from the PDS and checked.
//   - unlink.go: blob DELETE as a per-repository unlink (tombstones in the
//     AppView database, Options.Tombstones, consulted before the caches),
//     mounts, and the relink of an upload; the bytes stay in the hold.
//   - unlinkcache.go: the tombstone answers, cached per repository and
//     digest, current with this AppView's unlinks and (Redis) the
//     account's unlink version.
//   - uploads.go: registry.UploadService over pkg/appview/uploads.
//   - indexer.go: Options.Indexer, the web UI's index told at once of the
//     manifest and tag records written and deleted here, and of pushes
//     (not to be confused with index.go's per-DID cache).
//   - the caches are pkg/appview/bytecache's: bounded in bytes, with
//     per-entry expiry.
//
// See docs/registry.md and docs/architecture.md.
package storage
