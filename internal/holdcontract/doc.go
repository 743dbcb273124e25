// Package holdcontract is the black-box XRPC contract every hold keeps for
// the AppView: the upload procedures, com.atproto.sync.getBlob for OCI
// digests and io.atcr.hold.notifyManifest, spoken over HTTP to a base URL.
// Run is called with the real hold (cmd/hold starts the atcr-hold binary,
// pkg/hold/holdoci runs its handlers behind the real router with presigned
// uploads off) and with the AppView tests' fake hold, so the fake cannot
// drift from what it stands in for.
//
// The suite checks status codes and XRPC error names exactly, and every
// successful JSON answer against the method's output lexicon. Its cases:
//
//   - a call without a token, or with a token for another method, is 401;
//   - initiateUpload, getPartUploadUrl and the part PUTs it hands out (or
//     uploadPart when the URL is empty or the hold's own), completeUpload
//     with the right digest: getBlob then answers GET with a 307 to bytes
//     that hash to the digest and HEAD with the size and digest, and the
//     upload ID is spent;
//   - completeUpload with a wrong digest is 400 InvalidDigest and leaves
//     nothing at either digest; so is a digest other than the one given to
//     initiateUpload;
//   - after abortUpload the upload ID is unknown (400 InvalidUploadId);
//   - getBlob for a digest never stored is 404 BlobNotFound;
//   - notifyManifest reads the io.atcr.manifest record from the writer's
//     PDS (Target.PublishManifest puts it there first, as the AppView
//     does): for stored blobs it records a layer record per blob (config
//     included); for a blob the hold does not have it is 400 BlobNotFound;
//     without a record it is 400 ManifestNotFound; blobs the caller names
//     beyond the record's are not recorded;
//   - notifyManifestDeleted by a caller who neither owns the manifest nor
//     is crew (Target.Outsider) is 403 Forbidden.
//
// It imports nothing from pkg/appview or pkg/hold, so both sides may use it;
// what it needs from a hold is its Target.
package holdcontract
