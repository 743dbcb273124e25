package remote

import (
	"context"
	"slices"
	"sync"
	"testing"

	"atcr.io/pkg/hold/scan"
)

// newTestDispatcher makes the Dispatcher every test in this package runs
// against, and the function that queues a job on it (returning the job's
// ID). To run the tests against the hold's real queue, return it here.
var newTestDispatcher = func(t *testing.T) (scan.Dispatcher, func(scan.Job) int64) {
	d := newMemDispatcher()
	return d, d.add
}

// memDispatcher is a small in-memory queue with honest lease semantics:
// Claim blocks until a job is ready, Release puts the job first in line
// again, Finish and Release check that the caller holds the lease.
type memDispatcher struct {
	mu     sync.Mutex
	wake   chan struct{} // closed when the queue gains a job
	nextID int64
	queue  []scan.Job
	leases map[int64]string // job ID → worker
	jobs   map[int64]scan.Job
}

func newMemDispatcher() *memDispatcher {
	return &memDispatcher{wake: make(chan struct{}), leases: map[int64]string{}, jobs: map[int64]scan.Job{}}
}

func (d *memDispatcher) add(job scan.Job) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextID++
	job.ID, job.Attempt = d.nextID, 1
	d.jobs[job.ID] = job
	d.pushLocked(job, false)
	return job.ID
}

func (d *memDispatcher) pushLocked(job scan.Job, first bool) {
	if first {
		d.queue = slices.Insert(d.queue, 0, job)
	} else {
		d.queue = append(d.queue, job)
	}
	close(d.wake)
	d.wake = make(chan struct{})
}

func (d *memDispatcher) Claim(ctx context.Context, worker string) (scan.Job, error) {
	for {
		d.mu.Lock()
		if len(d.queue) > 0 {
			job := d.queue[0]
			d.queue = d.queue[1:]
			d.leases[job.ID] = worker
			d.mu.Unlock()
			return job, nil
		}
		wake := d.wake
		d.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return scan.Job{}, ctx.Err()
		}
	}
}

func (d *memDispatcher) Finish(_ context.Context, worker string, id int64, _ scan.Result) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.leases[id] != worker {
		return scan.ErrNotLeased
	}
	delete(d.leases, id)
	return nil
}

func (d *memDispatcher) Release(_ context.Context, worker string, id int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.leases[id] != worker {
		return scan.ErrNotLeased
	}
	delete(d.leases, id)
	d.pushLocked(d.jobs[id], true)
	return nil
}

// recorder wraps the Dispatcher under test and remembers what the
// handler did with it; finished signals every accepted Finish.
type recorder struct {
	scan.Dispatcher
	mu       sync.Mutex
	claims   []call
	finishes []finish
	releases []call
	finished chan finish
}

type call struct {
	worker string
	id     int64
}

type finish struct {
	call
	res scan.Result
}

func newRecorder(d scan.Dispatcher) *recorder {
	return &recorder{Dispatcher: d, finished: make(chan finish, 100)}
}

func (r *recorder) Claim(ctx context.Context, worker string) (scan.Job, error) {
	job, err := r.Dispatcher.Claim(ctx, worker)
	if err == nil {
		r.mu.Lock()
		r.claims = append(r.claims, call{worker, job.ID})
		r.mu.Unlock()
	}
	return job, err
}

func (r *recorder) Finish(ctx context.Context, worker string, id int64, res scan.Result) error {
	err := r.Dispatcher.Finish(ctx, worker, id, res)
	if err == nil {
		f := finish{call{worker, id}, res}
		r.mu.Lock()
		r.finishes = append(r.finishes, f)
		r.mu.Unlock()
		r.finished <- f
	}
	return err
}

// Release holds r.mu across the call, so a Claim the release wakes is
// recorded after the release.
func (r *recorder) Release(ctx context.Context, worker string, id int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.Dispatcher.Release(ctx, worker, id)
	if err == nil {
		r.releases = append(r.releases, call{worker, id})
	}
	return err
}

func (r *recorder) snapshot() (claims, releases []call, finishes []finish) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.claims), slices.Clone(r.releases), slices.Clone(r.finishes)
}
