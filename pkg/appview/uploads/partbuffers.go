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
// in the heap as garbage until the next cycle. A short list that is not
// emptied by collections keeps one stream's buffers (partsInFlight+1) for
// reuse, so a stream after the first allocates nothing.
//
// The kept buffers live outside the Go heap where the platform allows
// (slab_unix.go: one anonymous mapping of keep buffers): as heap objects
// they were live heap, and the collector lets the heap grow to twice its
// live size before it collects, so 24 MiB of buffers cost 48 MiB of peak
// RSS. The slab is never unmapped — net/http may still read a request body
// after RoundTrip returned, so a buffer must stay readable — only its pages
// are given back (madvise DONTNEED) after idle without use. Buffers beyond
// keep come from the heap and are left to the collector.
type partBuffers struct {
	size int
	keep int
	idle time.Duration

	// mapSlab and releaseSlab are the platform's (slab_unix.go); tests
	// replace mapSlab to take the heap path.
	mapSlab     func(n int) []byte
	releaseSlab func([]byte)

	mu       sync.Mutex
	mapped   bool     // mapSlab was tried
	slab     []byte   // keep*size bytes outside the heap; nil if none
	free     [][]byte // kept buffers not in use (slices of slab, or heap buffers)
	lastPut  time.Time
	trimmer  *time.Timer // armed while kept buffers may hold memory
	releases int         // times the slab's pages were given back (for tests)
}

func newPartBuffers(size, keep int, idle time.Duration) *partBuffers {
	return &partBuffers{size: size, keep: keep, idle: idle, mapSlab: mapSlab, releaseSlab: releaseSlab}
}

// get returns an empty buffer of capacity size: a kept one if there is one.
func (p *partBuffers) get() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mapped {
		p.mapped = true
		if p.slab = p.mapSlab(p.size * p.keep); p.slab != nil {
			for i := range p.keep {
				p.free = append(p.free, p.slab[i*p.size:i*p.size:(i+1)*p.size])
			}
		}
	}
	if n := len(p.free); n > 0 {
		buf := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return buf[:0]
	}
	return make([]byte, 0, p.size)
}

// put keeps buf for a later get: always a buffer of the slab, a heap buffer
// while fewer than keep are kept. buf must not be used by the caller
// afterwards.
func (p *partBuffers) put(buf []byte) {
	if cap(buf) != p.size {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastPut = time.Now()
	if !p.inSlab(buf) && (p.slab != nil || len(p.free) >= p.keep) {
		return // the slab's buffers are kept instead
	}
	p.free = append(p.free, buf[:0])
	if p.trimmer == nil {
		p.trimmer = time.AfterFunc(p.idle, p.trim)
	}
}

// inSlab reports whether buf is one of the slab's buffers.
func (p *partBuffers) inSlab(buf []byte) bool {
	if p.slab == nil || cap(buf) == 0 {
		return false
	}
	first := &buf[:1][0]
	for i := range p.keep {
		if first == &p.slab[i*p.size] {
			return true
		}
	}
	return false
}

// trim gives the kept buffers' memory back once none was put back for
// idle: heap buffers to the collector, the slab's pages to the kernel
// (the buffers stay kept, their next use faults in fresh zero pages).
func (p *partBuffers) trim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if since := time.Since(p.lastPut); since < p.idle {
		p.trimmer.Reset(p.idle - since)
		return
	}
	p.trimmer = nil
	if p.slab == nil {
		clear(p.free)
		p.free = nil
		return
	}
	if len(p.free) == p.keep { // none in use: all of the slab is idle
		p.releaseSlab(p.slab)
		p.releases++
		return
	}
	// Some are in use: look again later.
	p.trimmer = time.AfterFunc(p.idle, p.trim)
}

// kept reports how many buffers the list holds and how often the slab's
// pages were given back (for tests).
func (p *partBuffers) kept() (n, releases int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free), p.releases
}
