// Package scan is the hold's vulnerability scanning: every manifest the
// hold verified (io.atcr.hold.notifyManifest) becomes a scan job, workers
// scan the image with Syft and Grype, and the result is published as a
// signed, public io.atcr.hold.scan record in the hold's own repository,
// with the Grype report and the SPDX SBOM as blobs of the hold's PDS.
//
// The contract between the job side (queue, broadcaster, records) and the
// scanning engine is engine.go: a Scanner turns an Image, whose blobs it
// reads through Blobs, into a Result. See docs/scanning.md.
//
// The job side:
//
//   - Queue (queue.go, queue_sql.go) is the persistent queue in
//     <data_dir>/scans.sqlite and the Dispatcher workers claim from. One job
//     per manifest digest; Claim blocks on a change signal and a timer for
//     the next retry or lease expiry; a lease lasts job_timeout plus a
//     margin; a failed attempt (Fail, an expired lease, a hold that died
//     mid-scan) is retried after retry_backoff, doubling, and after
//     max_attempts recorded as failed with the last reason; Release gives a
//     job back without counting an attempt. OpenQueue takes back the leases
//     of the previous process.
//   - Publisher (publish.go) writes io.atcr.hold.scan records (key: the
//     digest's hex, so a rescan overwrites) with the report and SBOM as PDS
//     blobs, which the PDS keeps in S3.
//   - RunWorkers (worker.go) runs the in-process workers over a Scanner and
//     S3Blobs; a panicking Scan is a failed attempt; shutdown releases.
//   - Intake (intake.go) is holdoci's ScanHook: it applies scan_on_push and
//     queues images; an image index (index.go) is not scanned itself: its
//     record sums its linux platform manifests' results once all are in.
//   - RequestRescan and RunRescans (rescan.go) rescan every scanned digest
//     at a bounded rate after a database update; Forget drops a deleted
//     manifest's job and record; getScanStatus (status.go) reports queued,
//     scanning or none.
package scan
