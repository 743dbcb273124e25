// Package embedded runs the hold's zero-configuration S3 server in-process:
// versitygw's embedgw gateway over its posix backend, bound to 127.0.0.1 by
// default, storing objects as plain files under <DataDir>/s3/ and checking
// SigV4 like real S3 (so presigned URLs and pull-zone host swaps are tested
// for real). Root credentials are generated with crypto/rand on first start,
// kept in <DataDir>/s3-credentials.json (mode 0600) and reused afterwards.
//
// Completing a multipart upload removes each part file as soon as it is
// joined (tunedBackend), so a completion never holds two copies of an
// upload. The hold's own uploads (staging keys) are assembled in place
// while their parts arrive — written at their final offsets, written back,
// synced and hashed in the background — so their completion joins nothing
// and the hold gets the blob's SHA-256 without reading it back
// (assembly.go, Server.StagedSHA256).
//
// Two things versitygw's posix backend leaves out are added around every
// write of an object (PutObject, CopyObject, CompleteMultipartUpload) and
// in Move:
//
//   - The object's directory is made first, in a way that survives another
//     request removing an emptied parent at the same moment (dirs.go).
//     Without it concurrent pushes failed now and then with "mkdir
//     atcr/uploads/<id>: no such file or directory" (issue 11).
//   - The object is on the disk before the answer: its file, its directory
//     and the parents of directories made for it are fsynced (durable.go).
//     A write the server reports done survives a power loss.
//
// Two process-wide constraints come from versitygw v1.8.0 and are enforced
// here with clear errors rather than left to surprise:
//
//   - Only one gateway may run per process (embedgw keeps package-level
//     state: a "running" flag, bucket-name validation mode, debug logging).
//     A second Start before Stop returns ErrAlreadyRunning.
//   - The posix backend resolves bucket paths relative to the working
//     directory and calls os.Chdir(<DataDir>/s3) when it is created. While
//     the server runs the process's working directory is therefore that
//     directory; Stop restores the previous one. Resolve relative paths
//     before calling Start.
package embedded
