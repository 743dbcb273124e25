package scan

import (
	"context"
	"errors"
)

// Job is one scan the broadcaster hands to a worker: an image manifest
// the hold verified against its owner's PDS (notifyManifest), or a rescan
// of one.
type Job struct {
	// ID is the job's sequence number in the hold's queue. It only grows,
	// so it is also the cursor of io.atcr.hold.subscribeScanJobs.
	ID int64
	// Manifest is the AT-URI of the owner's io.atcr.manifest record;
	// Owner (a DID) and Repository are taken from that record.
	Manifest   string
	Owner      string
	Repository string
	// Image is what to scan.
	Image Image
	// Attempt counts from 1; a job retried after a crash, a timeout or a
	// lost worker comes back with the next number.
	Attempt int
}

// Dispatcher is the scan broadcaster's side that workers talk to: the
// in-process worker directly, remote workers through the
// io.atcr.hold.subscribeScanJobs subscription.
//
// A claimed job is leased to its worker. A worker that finishes calls
// Finish; one that cannot run the job (it is shutting down, its connection
// dropped) calls Release and the job is offered again at once. A lease not
// finished or released in time (the worker hung or the process died)
// expires and counts as a failed attempt: the job is retried with backoff
// and, after the last attempt, recorded as failed with the reason.
type Dispatcher interface {
	// Claim blocks until a job is ready for worker or ctx ends.
	Claim(ctx context.Context, worker string) (Job, error)
	// Finish records the result of a job leased to worker. It returns
	// ErrNotLeased when the lease expired and the job went to another
	// worker (the result is then dropped).
	Finish(ctx context.Context, worker string, jobID int64, res Result) error
	// Release gives a job leased to worker back to the queue without
	// counting an attempt.
	Release(ctx context.Context, worker string, jobID int64) error
}

// ErrNotLeased means a Finish or Release named a job that is not leased to
// the calling worker (any more).
var ErrNotLeased = errors.New("scan job is not leased to this worker")
