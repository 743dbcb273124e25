package remote

import (
	"context"
	"sync"
	"testing"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// TestWithHoldQueue runs the two broadcaster tests the issue names — jobs
// split between two remote workers, a killed worker's job re-issued —
// against the hold's own persistent queue (scan.Queue in SQLite) instead
// of the in-memory test dispatcher.
func TestWithHoldQueue(t *testing.T) {
	prev := newTestDispatcher
	t.Cleanup(func() { newTestDispatcher = prev })
	newTestDispatcher = func(t *testing.T) (scan.Dispatcher, func(scan.Job) int64) {
		q, err := scan.OpenQueue(t.Context(), scan.QueueOptions{
			DataDir: t.TempDir(), Records: &keptRecords{}, Logger: quietLogger(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Close() })
		var next int64 // the queue numbers a fresh database's jobs 1, 2, …
		return q, func(j scan.Job) int64 {
			queued, err := q.Enqueue(t.Context(), j)
			if err != nil || !queued {
				t.Fatalf("enqueue %s: queued %v, %v", j.Image.Digest, queued, err)
			}
			next++
			return next
		}
	}
	t.Run("JobsSplitBetweenWorkers", TestJobsSplitBetweenWorkers)
	t.Run("KilledWorkerJobReissued", TestKilledWorkerJobReissued)
}

// keptRecords keeps published results in memory: the queue's records are
// tested with the hold's PDS in pkg/hold/scan.
type keptRecords struct {
	mu   sync.Mutex
	kept map[string]scan.Result
}

func (r *keptRecords) Publish(_ context.Context, job scan.Job, res scan.Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kept == nil {
		r.kept = map[string]scan.Result{}
	}
	r.kept[job.Image.Digest.String()] = res
	return nil
}

func (r *keptRecords) Delete(_ context.Context, d oci.Digest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.kept, d.String())
	return nil
}
