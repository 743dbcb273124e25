package uploads

import (
	"sync"
	"time"
)

// partBuffers keeps a few idle part-sized buffers for the next chunk.
//
// It replaces a sync.Pool: the collector empties a pool every second cycle,
// and a large push collects often (each part is PartSize of fresh heap), so
// nearly every part allocated a new buffer while the ones just sent waited
// in the heap as garbage until the next cycle — the heap's high-water mark,
// and with it the AppView's peak RSS, grew by those dead parts. A short
// list that is not emptied by collections keeps one stream's buffers
// (partsInFlight+1) for reuse, so a stream after the first allocates
// nothing. Buffers beyond keep are left to the collector as before, and the
// list lets its buffers go after idle without use, so an AppView that
// stops pushing does not hold them for ever.
type partBuffers struct {
	size int
	keep int
	idle time.Duration

	mu      sync.Mutex
	free    [][]byte
	lastPut time.Time
	trimmer *time.Timer // armed while free is not empty
}

func newPartBuffers(size, keep int, idle time.Duration) *partBuffers {
	return &partBuffers{size: size, keep: keep, idle: idle}
}

// get returns an empty buffer of capacity size: a kept one if there is one.
func (p *partBuffers) get() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		buf := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return buf[:0]
	}
	return make([]byte, 0, p.size)
}

// put keeps buf for a later get, unless keep buffers are kept already.
// buf must not be used by the caller afterwards.
func (p *partBuffers) put(buf []byte) {
	if cap(buf) != p.size {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastPut = time.Now()
	if len(p.free) >= p.keep {
		return
	}
	p.free = append(p.free, buf[:0])
	if p.trimmer == nil {
		p.trimmer = time.AfterFunc(p.idle, p.trim)
	}
}

// trim drops the kept buffers once none was put back for idle.
func (p *partBuffers) trim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		p.trimmer = nil
		return
	}
	if since := time.Since(p.lastPut); since < p.idle {
		p.trimmer.Reset(p.idle - since)
		return
	}
	clear(p.free)
	p.free = p.free[:0]
	p.trimmer = nil
}

// kept reports how many buffers the list holds (for tests).
func (p *partBuffers) kept() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}
