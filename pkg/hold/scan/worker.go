package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// WorkQueue is what a worker needs of the queue: the Dispatcher and Fail;
// *Queue implements it.
type WorkQueue interface {
	Dispatcher
	Fail(ctx context.Context, worker string, jobID int64, reason string) error
}

// WorkerOptions configure RunWorkers.
type WorkerOptions struct {
	Queue   WorkQueue
	Scanner Scanner
	Blobs   Blobs
	// Workers is how many jobs run at once (scanner.workers); 0 runs none.
	Workers int
	// JobTimeout bounds one Scan (scanner.job_timeout).
	JobTimeout time.Duration
	// Name prefixes the workers' names ("inprocess" if empty).
	Name   string
	Logger *slog.Logger
}

// RunWorkers runs the in-process workers until ctx ends: each claims a
// job, scans it with a timeout and reports the result. A Scan that panics
// or returns an error is a failed attempt (retried with backoff, then
// recorded as failed). When ctx ends, a job being scanned is released back
// to the queue, so the next start runs it again without counting the
// attempt. RunWorkers returns when every worker has stopped.
func RunWorkers(ctx context.Context, opts WorkerOptions) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	name := opts.Name
	if name == "" {
		name = "inprocess"
	}
	timeout := orDefault(opts.JobTimeout, DefaultJobTimeout)
	var wg sync.WaitGroup
	for i := range opts.Workers {
		w := &worker{
			name: name + "-" + strconv.Itoa(i+1), queue: opts.Queue, scanner: opts.Scanner,
			blobs: opts.Blobs, timeout: timeout,
		}
		w.log = log.With("component", "scanworker", "worker", w.name)
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
}

type worker struct {
	name    string
	queue   WorkQueue
	scanner Scanner
	blobs   Blobs
	timeout time.Duration
	log     *slog.Logger
}

func (w *worker) run(ctx context.Context) {
	for {
		job, err := w.queue.Claim(ctx, w.name)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// The queue's database failed: wait a little, do not spin.
			w.log.Error("Claim a scan job", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
			}
			continue
		}
		w.do(ctx, job)
	}
}

// do runs one job and reports it. Reports use a context that outlives a
// shutdown, so a finished scan is not lost and a stopped one is released.
func (w *worker) do(ctx context.Context, job Job) {
	report := context.WithoutCancel(ctx)
	res, err := w.scan(ctx, job)
	switch {
	case err == nil:
		if ferr := w.queue.Finish(report, w.name, job.ID, res); ferr != nil && !errors.Is(ferr, ErrNotLeased) {
			w.log.Error("Report scan result", "job", job.ID, "err", ferr)
		}
	case ctx.Err() != nil: // shutting down: not the job's fault
		if rerr := w.queue.Release(report, w.name, job.ID); rerr != nil && !errors.Is(rerr, ErrNotLeased) {
			w.log.Warn("Release scan job at shutdown", "job", job.ID, "err", rerr)
		}
	default:
		if ferr := w.queue.Fail(report, w.name, job.ID, err.Error()); ferr != nil && !errors.Is(ferr, ErrNotLeased) {
			w.log.Error("Report failed scan", "job", job.ID, "err", ferr)
		}
	}
}

// scan runs the Scanner with the job timeout, turning a panic into an
// error: a hostile image must not take the hold down.
func (w *worker) scan(ctx context.Context, job Job) (res Result, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("Scanner panicked", "job", job.ID, "digest", job.Image.Digest, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("the scanner crashed: %v", p)
		}
	}()
	w.log.Info("Scanning", "job", job.ID, "digest", job.Image.Digest, "repository", job.Repository, "attempt", job.Attempt)
	res, err = w.scanner.Scan(ctx, job.Image, w.blobs)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("the scan took longer than %s: %w", w.timeout, err)
	}
	return res, err
}
