// Package s3 is the registry's only door to object storage: S3Service wraps an
// aws-sdk-go-v2 S3 client with the operations the hold needs (Stat, PutBytes,
// streaming Put and Open, Move, Delete, WalkBlobs, ListPrefix, multipart
// uploads, presigned GET/PUT/UploadPart URLs) and owns the bucket's key
// layout:
//
//	blobs/<alg>/<first 2 hex>/<hex>/data   content-addressed blob (BlobKey)
//	uploads/<uploadID>/data                 staging object of an upload session (UploadKey)
//
// Keys for blobs are built only from a validated oci.Digest, so a bad digest
// is an error and never a path. Every method also re-checks the keys it is
// given (no empty, "." or ".." segments, no leading slash, bounded length).
//
// Presigned reads honour a CDN pull zone: the URL is signed against the real
// S3 endpoint first and only then is its scheme and host replaced by the pull
// zone's, so the signature stays valid when the zone forwards the origin's
// Host header (signing against the CDN host would break SigV4).
//
// MockS3Client is an in-memory implementation of Client for unit tests of
// packages above this one; the shared suite in pkg/s3/s3test runs against it
// and against the embedded versitygw server (pkg/s3/embedded), which checks
// SigV4 for real.
package s3
