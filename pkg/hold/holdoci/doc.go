// Package holdoci is the hold's OCI blob surface: the io.atcr.hold.* upload
// procedures, io.atcr.hold.notifyManifest (layer records, quota, Bluesky
// posts, then the manifest is handed to vulnerability scanning through
// Options.Scans), io.atcr.hold.notifyManifestDeleted (dropping a deleted
// manifest's layer records and, through Options.Scans, its scan job and
// record) and com.atproto.sync.getBlob for OCI digests (a 307 to a
// presigned S3 URL, or size and digest for HEAD). A failure to queue a
// scan is logged and never fails the push.
//
// # Uploads
//
// initiateUpload starts an S3 multipart upload at the staging key
// s3.UploadKey(<session ID>) and records a session in
// <DataDir>/uploads.sqlite: a random 128-bit ID (32 hex characters), S3's own
// upload ID (never shown to callers), the owner (the caller's DID), creation
// and expiry times and the optional expected digest. Sessions survive a
// restart of the hold. Only the owner may use a session; to anyone else it
// does not exist (InvalidUploadId).
//
// Part bytes go straight to S3 through presigned part URLs
// (getPartUploadUrl), or through the hold with uploadPart when presigning is
// not possible; uploadPart spools each part (at most 5 GiB, Content-Length
// required) to a temporary file under <DataDir>/upload-spool, because the S3
// SDK signs the payload and needs to read it twice.
//
// completeUpload assembles the parts, streams the staging object back through
// a hash and only then moves it to s3.BlobKey(digest) (Options.Staging: S3's
// GET, copy and delete, or file reads and a rename on the embedded server). A mismatch deletes
// the staging object and answers InvalidDigest naming the computed digest:
// nothing is ever stored at a digest key whose bytes differ. When the blob
// already exists the stored object is checked (its size; with
// Options.RehashExisting its bytes) and replaced by the verified upload
// when it differs, else kept and the staging copy deleted. A completed
// blob new to its owner counts against their quota (with their other
// completed-but-unannounced blobs and staged parts) before it is stored:
// over quota is QuotaExceeded and nothing is stored. A session whose parts
// were assembled but not yet moved (a crash, a failed copy) can be
// completed again.
//
// Per user: at most MaxSessionsPerUser open sessions (429 beyond), at most
// MaxStagedBytesPerUser staged through uploadPart; a session without parts
// expires after EmptySessionTTL. An uploadPart body idle for
// PartIdleTimeout is cut off.
//
// Expired sessions are aborted and deleted by a sweeper (Start/Stop, or
// SweepExpired once).
//
// # Layer records
//
// notifyManifest (notify.go) reads the io.atcr.manifest record from the
// owner's PDS (manifestrecord.go, ownerpds.go: found through
// Options.Identity, asked with Options.PDSClient) and writes one
// io.atcr.hold.layer record per blob it names (the blobs the caller
// announced are looked up in S3 meanwhile, their sizes used only while the
// blob guard shows no deletion since); quota (the crew package) and
// garbage collection (the gc package) are computed from those records.
// notifyManifestDeleted (deleted.go) removes the records of one manifest
// once the owner's PDS answers RecordNotFound for it. Both ask
// Options.Layers (the layer index) instead of reading the collection, and
// take the per-user lock, so a deletion and a push of the same user never
// interleave their record updates (layers.go). Bluesky posts (post.go): at
// most one per manifest, rate-limited per user, one fixed template.
//
// # Garbage collection
//
// Handlers implements gc.Pins (gcguard.go, pins.go): a writer's getBlob
// HEAD and a completion of a stored digest pin the blob in
// uploads.sqlite, and those steps and notifyManifest's stat-then-write
// hold the shared side of a blob guard whose exclusive side (LockBlobs)
// the collector takes around its final check and delete. PinStore gives
// `atcr-hold gc` the pins a stopped hold left.
//
// # Routing
//
// Routes lists the io.atcr.hold.* procedures as xrpc.Route values, each
// with xrpc.ServiceAuth: the hold's router (pkg/hold/server) mounts them
// behind mandatory service auth for the method's NSID, which puts the
// caller in the context for serviceauth.CallerDID. GetBlob is not a route:
// com.atproto.sync.getBlob belongs to the PDS, and the router sends the
// requests whose cid is an OCI digest to GetBlob instead (behind optional
// service auth and the read check). Authorisation (Authorizer.CanRead /
// CanWrite) is checked here as well, so the handlers are safe to test alone.
package holdoci
