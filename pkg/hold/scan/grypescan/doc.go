// Package grypescan is the hold's scanning engine: a scan.Scanner that
// unpacks an image into a job directory and scans it with syft and grype as
// libraries, offline, against the database of package vulndb.
//
// Each layer is streamed from scan.Blobs (never read whole into memory),
// checked against its digest and size while it is read, decompressed as its
// media type says (gzip, zstd or plain tar), and applied in order to a root
// file system under <scanner.temp_dir>/job-XXXX with OCI whiteouts. A
// hostile image cannot reach outside that directory: every file operation
// goes through an os.Root, entries with .. or absolute paths and symlinks
// climbing above the root are refused, absolute symlink targets are
// rewritten to stay inside, device nodes and FIFOs are skipped, and the
// image is bounded in total apparent size (scanner.max_temp_disk, counted
// from the tar headers before a byte is written, so a huge sparse file fails
// at once), in entries (scanner.max_files), in path length and depth, and
// in decompression ratio (a tar bomb fails after 64 MiB). Each violation
// ends the scan as failed with a short reason; the job directory is removed
// after every scan, failed and cancelled ones included.
//
// The root file system is then cataloged with syft as a directory source
// with the catalogers syft uses for images, and matched with grype's
// default matchers; the result carries grype's JSON report (the model and
// presenter of `grype -o json`) and the SPDX JSON SBOM. Artifacts that are
// not container images (Helm charts, in-toto and DSSE attestations, cosign
// signatures, anything with an artifactType) are skipped, with the reason,
// without reading a layer; so are scans without a vulnerability database.
package grypescan
