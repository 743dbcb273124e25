// Package remote is the io.atcr.hold.subscribeScanJobs subscription: the
// scan broadcaster's WebSocket for scan workers that run outside the hold
// process, and the worker that connects to it.
//
// The hold side is Handler (mounted through Routes): a worker connects
// with the shared secret scanner.worker_secret and a worker name; each
// connection leases one job at a time from a scan.Dispatcher under the
// name "remote:<worker>" (so a remote worker can never finish a job of
// the in-process one), sends it as #scanJob with a presigned GET URL per
// blob (Presigner; S3Presigner for the hold's *s3.S3Service) and waits for
// the worker's #scanResult or #release. Jobs split between workers by who
// is free. A connection that ends or breaks the protocol releases its job
// at once, so a killed worker's job goes to the next free worker.
//
// The worker side is RunWorker: it connects (ws/wss from the hold's URL),
// reconnects with backoff, scans each job with a scan.Scanner reading the
// presigned URLs (URLBlobs), and answers. A command that runs a worker
// needs no more than:
//
//	return remote.RunWorker(ctx, remote.WorkerOptions{
//		HoldURL: os.Getenv("SCANNER_HOLD_URL"), Secret: os.Getenv("SCANNER_SHARED_SECRET"),
//		Scanner: scanner, Logger: logger})
//
// # Wire format
//
// Every message is a JSON text frame whose $type is the lexicon def it
// carries ("io.atcr.hold.subscribeScanJobs#scanJob", …). A #scanResult
// frame (at most 16 KiB) announces reportSize and sbomSize; the Grype
// report and then the SPDX SBOM follow as binary frames of exactly those
// sizes (each at most scan.MaxDocument), skipped when a size is 0. Binary
// frames, not base64 inside the JSON: the hold reads each document with a
// read limit equal to its announced size, straight into a buffer of that
// size, so a 64 MiB report costs 64 MiB (base64 in JSON would cost the
// 85 MiB frame, the decoded copy, and a read limit of 171 MiB for both).
//
// A scanner error (the scan.Scanner contract: try again later) is answered
// with #release: the hold gives the job back to the queue without counting
// an attempt, and the worker reconnects after a backoff so that a broken
// worker does not spin through the queue.
//
// A worker's scan belongs to the worker, not to its connection: when the
// connection breaks, the scan goes on and the worker reconnects with
// cursor = the job's ID. If the hold has not yet noticed the old
// connection gone, the new one replaces it (the old one gets #info
// Superseded) and the job keeps its lease and is sent again first; if it
// has, the job was released and is likely offered to the same idle worker
// again. Either way a #scanJob whose ID is the running scan's is answered
// from that scan, and any other job cancels it. A cursor that does not
// name the job still leased to the worker's name gives that job back to
// the queue. See docs/scanning.md.
package remote
