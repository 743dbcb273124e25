package uploads

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"atcr.io/pkg/appview/registry"
)

// memBudget bounds the memory all upload sessions hold together
// (Options.MaxBufferedBytes). Every buffer is counted by its capacity for as
// long as it exists: the whole part buffers of chunks being streamed and
// sent, and the remainders idle sessions keep between requests, which are
// exactly as large as the bytes they hold (under MinPartSize, see
// uploadwrite.go). An idle session therefore costs what it holds, never a
// whole part. Part-sized buffers are reused through a sync.Pool, so the
// garbage collector may still reclaim idle ones.
type memBudget struct {
	partSize int
	wait     time.Duration
	sem      *semaphore.Weighted
	parts    sync.Pool
	used     atomic.Int64 // bytes reserved now, for BufferedBytes
	// drained ends every wait for memory (Manager.Drain, at shutdown).
	drained  context.Context
	drainNow context.CancelFunc
}

func newMemBudget(partSize int, limit int64, wait time.Duration) *memBudget {
	b := &memBudget{partSize: partSize, wait: wait, sem: semaphore.NewWeighted(limit)}
	b.drained, b.drainNow = context.WithCancel(context.Background())
	b.parts.New = func() any {
		buf := make([]byte, 0, partSize)
		return &buf
	}
	return b
}

// tryReserve takes n bytes of the budget if they are free now.
func (b *memBudget) tryReserve(n int64) bool {
	if n <= 0 {
		return true
	}
	if !b.sem.TryAcquire(n) {
		return false
	}
	b.used.Add(n)
	return true
}

// reserve takes n bytes of the budget, waiting at most b.wait for them:
// then the client is told to retry later (ErrTooManyUploads, 429).
func (b *memBudget) reserve(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	defer context.AfterFunc(b.drained, cancel)()
	if err := b.sem.Acquire(wctx, n); err != nil {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("wait for %d bytes of upload memory: %w", n, ctx.Err())
		case b.drained.Err() != nil:
			return fmt.Errorf("shutting down: %w", registry.ErrTooManyUploads)
		}
		return fmt.Errorf("upload memory exhausted for %s: %w", b.wait, registry.ErrTooManyUploads)
	}
	b.used.Add(n)
	return nil
}

// drain ends every current and future wait for memory: the waiters get
// ErrTooManyUploads at once.
func (b *memBudget) drain() { b.drainNow() }

// release returns n bytes to the budget.
func (b *memBudget) release(n int64) {
	if n > 0 {
		b.used.Add(-n)
		b.sem.Release(n)
	}
}

// alloc returns an empty buffer of capacity n, which the caller has
// reserved: a pooled one when n is the part size.
func (b *memBudget) alloc(n int) []byte {
	if n == b.partSize {
		return (*b.parts.Get().(*[]byte))[:0]
	}
	return make([]byte, 0, n)
}

// recycle pools a part-sized buffer; its capacity stays reserved (the
// caller moved it to another buffer or releases it itself).
func (b *memBudget) recycle(buf []byte) {
	if cap(buf) == b.partSize {
		buf = buf[:0]
		b.parts.Put(&buf)
	}
}

// free releases a buffer's capacity and pools part-sized buffers.
func (b *memBudget) free(buf []byte) {
	b.recycle(buf)
	b.release(int64(cap(buf)))
}
