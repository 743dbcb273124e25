package storage

import (
	"context"
	"fmt"
	"sync"
	"time"

	"atcr.io/pkg/appview/registry"
)

// partPool hands out part buffers of one size, at most max at a time: the
// bound on the memory all upload sessions hold together. Returned buffers
// are reused through a sync.Pool, so the garbage collector may still
// reclaim idle ones.
type partPool struct {
	size  int
	wait  time.Duration
	slots chan struct{}
	free  sync.Pool
}

func newPartPool(size, max int, wait time.Duration) *partPool {
	p := &partPool{size: size, wait: wait, slots: make(chan struct{}, max)}
	p.free.New = func() any {
		b := make([]byte, 0, size)
		return &b
	}
	return p
}

// get returns an empty buffer with capacity size, waiting up to p.wait
// for one to be free.
func (p *partPool) get(ctx context.Context) ([]byte, error) {
	timer := time.NewTimer(p.wait)
	defer timer.Stop()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a part buffer: %w", ctx.Err())
	case <-timer.C:
		return nil, fmt.Errorf("all %d part buffers in use: %w", cap(p.slots), registry.ErrTooManyUploads)
	}
	b := p.free.Get().(*[]byte)
	return (*b)[:0], nil
}

// put returns a buffer taken with get.
func (p *partPool) put(b []byte) {
	b = b[:0]
	p.free.Put(&b)
	<-p.slots
}
