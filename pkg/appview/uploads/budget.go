package uploads

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/registry"
)

// memBudget bounds the memory upload sessions hold: all of them together
// (Options.MaxBufferedBytes) and each owner's (Options.MaxBufferedBytesPerUser),
// so one account's stalled or failing uploads can never take the memory
// every other user's pushes need. Every buffer is counted by its capacity
// for as long as it exists: the whole part buffers of chunks being streamed
// and sent, and the remainders idle sessions keep between requests, which
// are exactly as large as the bytes they hold (under MinPartSize, see
// write.go). An idle session therefore costs what it holds, never a whole
// part. One stream's part-sized buffers are kept for reuse when no chunk
// holds them (partBuffers, outside the budget and the Go heap: at most
// partsInFlight+1 of them, their memory given back after a minute without
// use).
type memBudget struct {
	partSize int
	wait     time.Duration
	max      int64
	perUser  int64
	parts    *partBuffers
	used     atomic.Int64 // bytes reserved now, for BufferedBytes

	mu     sync.Mutex
	byUser map[syntax.DID]int64
	// freed is closed (and replaced) whenever memory is released: waiters
	// look again.
	freed chan struct{}

	// drained ends every wait for memory (Manager.Drain, at shutdown).
	drained  context.Context
	drainNow context.CancelFunc
}

// idlePartBuffers is how long kept part buffers outlive the last chunk.
const idlePartBuffers = time.Minute

func newMemBudget(partSize int, limit, perUser int64, wait time.Duration) *memBudget {
	b := &memBudget{
		partSize: partSize, wait: wait, max: limit, perUser: perUser,
		byUser: map[syntax.DID]int64{}, freed: make(chan struct{}),
		parts: newPartBuffers(partSize, partsInFlight+1, idlePartBuffers),
	}
	b.drained, b.drainNow = context.WithCancel(context.Background())
	return b
}

// tryReserve takes n bytes of the budget for owner if they are free now.
func (b *memBudget) tryReserve(owner syntax.DID, n int64) bool {
	if n <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used.Load()+n > b.max || b.byUser[owner]+n > b.perUser {
		return false
	}
	b.used.Add(n)
	b.byUser[owner] += n
	return true
}

// reserve takes n bytes of the budget for owner, waiting at most b.wait
// for them: then the client is told to retry later (ErrTooManyUploads,
// 429).
func (b *memBudget) reserve(ctx context.Context, owner syntax.DID, n int64) error {
	if n <= 0 {
		return nil
	}
	timeout := time.NewTimer(b.wait)
	defer timeout.Stop()
	for {
		if b.tryReserve(owner, n) {
			return nil
		}
		b.mu.Lock()
		freed := b.freed
		b.mu.Unlock()
		if b.tryReserve(owner, n) { // released between the two locks
			return nil
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d bytes of upload memory: %w", n, ctx.Err())
		case <-b.drained.Done():
			return fmt.Errorf("shutting down: %w", registry.ErrTooManyUploads)
		case <-timeout.C:
			return fmt.Errorf("upload memory exhausted for %s: %w", b.wait, registry.ErrTooManyUploads)
		}
	}
}

// drain ends every current and future wait for memory: the waiters get
// ErrTooManyUploads at once.
func (b *memBudget) drain() { b.drainNow() }

// release returns n of owner's bytes to the budget.
func (b *memBudget) release(owner syntax.DID, n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used.Add(-n)
	if left := b.byUser[owner] - n; left > 0 {
		b.byUser[owner] = left
	} else {
		delete(b.byUser, owner)
	}
	close(b.freed)
	b.freed = make(chan struct{})
}

// alloc returns an empty buffer of capacity n, which the caller has
// reserved: a kept one when n is the part size.
func (b *memBudget) alloc(n int) []byte {
	if n == b.partSize {
		return b.parts.get()
	}
	return make([]byte, 0, n)
}

// recycle keeps a part-sized buffer for reuse; its capacity stays reserved
// (the caller moved it to another buffer or releases it itself).
func (b *memBudget) recycle(buf []byte) { b.parts.put(buf) }

// free releases a buffer of owner's and keeps part-sized buffers for reuse.
func (b *memBudget) free(owner syntax.DID, buf []byte) {
	b.recycle(buf)
	b.release(owner, int64(cap(buf)))
}
