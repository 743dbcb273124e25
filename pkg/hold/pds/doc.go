// Package pds is the hold's embedded ATProto Personal Data Server: the hold's
// identity (did:web plus a K-256 signing key), its signed repository of records
// (captain, crew, layer and scan records), ATProto blobs (streamed to S3
// under BlobKeyPrefix through Options.Blobs, an *s3.S3Service; blobs kept
// in repo.sqlite before that are still served), the
// com.atproto.* XRPC read surface, the subscribeRepos firehose and CAR
// export/import for backups.
//
// The repository uses indigo's atproto/repo and atproto/repo/mst primitives
// with our own SQLite storage (opened through internal/sqlite): indigo's
// legacy repomgr/carstore neither emits sync v1.1 firehose events (no prevData,
// no op prev) nor builds without cgo.
//
// Every write goes through PDS.ApplyWrites under one mutex, in this order:
// encode records, ApplyOp on the in-memory MST, WriteDiffBlocks (before any
// RootCID call, which would clear the dirty flags and empty the diff), sign the
// commit, build the #commit event, persist blocks + head + event in one SQLite
// transaction, then broadcast. A failed write reloads the tree from the last
// durable head, because the in-memory tree may be half mutated.
//
// Callers of this package (crew, layer, scan code) use the record API.
// Handlers.Routes lists the XRPC endpoints as xrpc.Route values; the hold's
// router mounts them and applies the access each declares (xrpc.Admins for
// uploadBlob and deleteRecord, xrpc.Readers for getBlob), so the handlers
// assume an admitted caller. Handlers answer errors through xrpc.WriteError:
// the sentinel errors map to XRPC statuses and names through one table
// (errors.go); anything else is logged and answered 500 without detail.
// Commits are limited to MaxCommitOps operations and MaxCommitBytes of
// blocks, the limits relays enforce; larger batches must be split by the
// caller.
//
// Options.Indexes are secondary indexes over one collection each (index.go,
// e.g. pkg/hold/layerindex): their tables live in repo.sqlite, each commit
// updates them in its own transaction, and Open rebuilds one from the
// records when its state row is missing or behind the head. The firehose
// admits at most Handlers.MaxSubscribers connections at once (429 beyond).
package pds
