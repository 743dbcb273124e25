// Package uploads runs the AppView's blob upload sessions: the state
// behind POST/PATCH/PUT /v2/<name>/blobs/uploads/. A session is opened on
// the owner's push hold (io.atcr.hold.initiateUpload) and streams each
// PATCH body through reused part buffers to presigned S3 part URLs, two
// parts in flight while the next fills (pkg/appview/holdclient sends them);
// the final PUT sends the remainder and has the hold complete the upload
// and verify the digest.
//
// Where things are:
//
//   - manager.go: Options, New, the Manager, Drain and Close.
//   - store.go: sessionStore, where the open sessions live: counted
//     against the caps, locked by one request at a time, swept when idle.
//   - memstore.go: the default store, this process's memory.
//   - redisstore.go, redislock.go, redisstate.go: the store in Redis
//     (Options.Redis) that AppViews of a cluster share — keys, the lock
//     and its renewal, what a saved session holds.
//   - sessions.go: a session's state, Start, Get, Cancel, acquiring and
//     releasing, expiry and the sweep that aborts idle sessions on their
//     hold.
//   - write.go: Write — small chunks into exactly sized buffers, streams
//     through whole part buffers; failed parts are resent first.
//   - partsender.go: the concurrent part sends of one request.
//   - finish.go: Finish — last part, completeUpload, the result.
//   - budget.go: the one memory budget all sessions share.
//   - partbuffers.go: the free list that keeps one stream's part buffers
//     for the next (a sync.Pool is emptied by the collector).
//
// Without Options.Redis, sessions live in this process's memory only: an
// AppView restart loses them and clients start their uploads again (the
// hold aborts orphaned multipart uploads after its own TTL). With Redis a
// session is saved there at every part boundary and at the end of every
// request, and locked there while a request uses it, so a PATCH, GET or
// PUT may land on any AppView, and a PATCH cut mid-body (client gone,
// AppView killed) leaves the session at the last saved point, which GET
// reports for the client to resume; see docs/shared-state.md. The memory
// budget stays per process. Nothing is buffered whole: a
// streaming chunk holds at most three part buffers (Options.PartSize) while
// its request runs, an idle session only its remainder (under MinPartSize,
// counted by its size), and all of them together at most
// Options.MaxBufferedBytes. See docs/registry.md.
//
// The Manager speaks the registry's vocabulary (registry.Repo, Upload and
// the sentinel errors); pkg/appview/storage adapts it to
// registry.UploadService.
package uploads
