// Package holdclient is the AppView's client of holds: every XRPC call the
// AppView makes to an atcr-hold, method by method as
// lexicons/io/atcr/hold/*.json declare them, and the PUTs of part bytes to
// the presigned URLs a hold hands out. A mismatch with the hold is fixed
// here, in one place.
//
// Where things are:
//
//   - client.go: Client, Options, Hold (a hold DID, its endpoint and the
//     user the call is made as) and how a hold DID is resolved to its
//     endpoint (#atcr_hold, else #atproto_pds).
//   - uploads.go: initiateUpload, getPartUploadUrl + the part PUT (or the
//     uploadPart fallback), completeUpload, abortUpload.
//   - stall.go: the guard that gives up a part PUT making no progress (no
//     byte taken, no answer) for 30 s, so a blackholed S3 cannot hold a
//     client's PATCH for the whole part timeout.
//   - manifests.go: notifyManifest, notifyManifestDeleted.
//   - blobs.go: com.atproto.sync.getBlob for OCI digests (the 307's
//     Location for a pull, the size for HEAD).
//   - scans.go: the reads of the vulnerability badges, anonymous: a
//     manifest's io.atcr.hold.scan record (getRecord, ≤ 64 KiB),
//     io.atcr.hold.getScanStatus (an older hold without it: "none"), and
//     the report blob (getBlob by CID, bytes or one redirect followed,
//     bounded by the caller, checked against its CID). Their misses are
//     ErrRecordNotFound, unusable answers ErrInvalidRecord, oversized
//     reports ErrReportTooLarge.
//   - errors.go: the hold's XRPC errors mapped onto the registry's
//     sentinels (pkg/appview/registry), which are the AppView's vocabulary
//     for holds too.
//
// Protected methods carry a service token minted through the user's
// credentials (Options.Tokens; aud = hold DID, lxm = the method; a client
// without Tokens is anonymous). Every request goes through the guarded HTTP
// client (pkg/atproto/safehttp); redirects are answers (getBlob's 307),
// never followed — except to a scan report's bytes, which are read.
package holdclient
