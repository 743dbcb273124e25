// Package s3test is the conformance suite every S3Service backend must pass:
// Run is called with a MockS3Client-backed service and with one on the
// embedded versitygw server (which checks SigV4), so behaviour the unit
// tests rely on is proven against a real S3 implementation too.
package s3test
