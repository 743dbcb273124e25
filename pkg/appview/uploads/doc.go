// Package uploads runs the AppView's blob upload sessions: the state
// behind POST/PATCH/PUT /v2/<name>/blobs/uploads/. A session is opened on
// the owner's push hold (io.atcr.hold.initiateUpload) and streams each
// PATCH body through pooled part buffers to presigned S3 part URLs, two
// parts in flight while the next fills (pkg/appview/holdclient sends them);
// the final PUT sends the remainder and has the hold complete the upload
// and verify the digest.
//
// Where things are:
//
//   - manager.go: Options, New, the Manager, Drain and Close.
//   - table.go: the open sessions, counted per owner against the caps.
//   - sessions.go: a session's state, Start, Get, Cancel, locking, expiry
//     and the sweep that aborts idle sessions on their hold.
//   - write.go: Write — small chunks into exactly sized buffers, streams
//     through whole part buffers; failed parts are resent first.
//   - partsender.go: the concurrent part sends of one request.
//   - finish.go: Finish — last part, completeUpload, the result.
//   - budget.go: the one memory budget all sessions share.
//
// Sessions live in this process's memory only: an AppView restart loses
// them and clients start their uploads again (the hold aborts orphaned
// multipart uploads after its own TTL). Nothing is buffered whole: a
// streaming chunk holds at most three part buffers (Options.PartSize) while
// its request runs, an idle session only its remainder (under MinPartSize,
// counted by its size), and all of them together at most
// Options.MaxBufferedBytes. See docs/registry.md.
//
// The Manager speaks the registry's vocabulary (registry.Repo, Upload and
// the sentinel errors); pkg/appview/storage adapts it to
// registry.UploadService.
package uploads
