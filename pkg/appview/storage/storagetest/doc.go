// Package storagetest provides the fakes that the storage and registry
// tests run against, over real HTTP (httptest):
//
//   - PDS: the few com.atproto.repo.* and sync.getBlob calls of a user's
//     PDS with an in-memory record store. It is strict: records that fail
//     lexicon validation, bad record keys and dangling blob references are
//     refused, and writes need the owner's session.
//   - Hold: the io.atcr.hold.* upload XRPCs, notifyManifest,
//     notifyManifestDeleted (recorded, not acted on) and
//     com.atproto.sync.getBlob (307 to a presigned URL, HEAD for stat) over
//     a real pkg/s3 S3Service: the in-memory MockS3Client served by its
//     HTTP handler, or the embedded versitygw server. Parts really go to
//     presigned part URLs and completeUpload really verifies the digest.
//   - ActAs: the pkg/appview/actas stand-in, handing out PDS clients with a
//     fake session token and service tokens the fake hold checks.
//   - Env: a directory, a PDS, a hold, an AppView database (pkg/appview/db,
//     holding the blob tombstones) and a storage.Store wired together.
//
// Tokens here are plain strings ("session:<did>", "svc|<did>|<aud>|<lxm>")
// that mean nothing outside these fakes; the end-to-end suite exercises the
// real PDS, hold and token service.
package storagetest
