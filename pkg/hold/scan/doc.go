// Package scan is the hold's vulnerability scanning: every manifest the
// hold verified (io.atcr.hold.notifyManifest) becomes a scan job, workers
// scan the image with Syft and Grype, and the result is published as a
// signed, public io.atcr.hold.scan record in the hold's own repository,
// with the Grype report and the SPDX SBOM as blobs of the hold's PDS.
//
// The contract between the job side (queue, broadcaster, records) and the
// scanning engine is engine.go: a Scanner turns an Image, whose blobs it
// reads through Blobs, into a Result. See docs/scanning.md.
package scan
