// Package storagetest provides the fakes that the storage and registry
// tests run against, over real HTTP (httptest):
//
//   - the user's PDS: pkg/appview/pdstest, the AppView's one fake PDS.
//   - Hold: the io.atcr.hold.* upload XRPCs, notifyManifest,
//     notifyManifestDeleted and com.atproto.sync.getBlob (307 to a
//     presigned URL, HEAD for stat) over a real pkg/s3 S3Service: the
//     in-memory MockS3Client served by its HTTP handler, or the embedded
//     versitygw server. Parts really go to presigned part URLs and
//     completeUpload really verifies the digest. Scanning too: scan
//     records by getRecord, io.atcr.hold.getScanStatus, and report blobs
//     by getBlob with their CID (bytes, or a 307 to the bucket), set with
//     PutScan and SetScanStatus (hold_scans.go). It keeps the hold contract
//     (internal/holdcontract, TestHoldContract), so where it answers
//     differently from atcr-hold a test fails.
//   - ActAs: the pkg/appview/actas stand-in, handing out PDS clients with an
//     access token of the fake PDS and service tokens the fake hold checks.
//   - Env: a directory, a PDS, a hold, an AppView database (pkg/appview/db,
//     holding the blob tombstones) and a storage.Store wired together.
//
// Service tokens here are plain strings ("svc|<did>|<aud>|<lxm>") that
// mean nothing outside these fakes; the end-to-end suite exercises the real
// PDS, hold and token service.
package storagetest
