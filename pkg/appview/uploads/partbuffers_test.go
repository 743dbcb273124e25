package uploads

import (
	"bytes"
	"testing"
	"time"
)

// forEachKind runs f with the slab (outside the heap) and with heap
// buffers only (a platform without anonymous mappings).
func forEachKind(t *testing.T, f func(t *testing.T, heapOnly bool, p func(size, keep int, idle time.Duration) *partBuffers)) {
	for _, heapOnly := range []bool{false, true} {
		name := "slab"
		if heapOnly {
			name = "heap"
		}
		t.Run(name, func(t *testing.T) {
			f(t, heapOnly, func(size, keep int, idle time.Duration) *partBuffers {
				p := newPartBuffers(size, keep, idle)
				if heapOnly {
					p.mapSlab = func(int) []byte { return nil }
				}
				return p
			})
		})
	}
}

func first(b []byte) *byte { return &b[:1][0] }

func TestPartBuffersReuseKeptBuffers(t *testing.T) {
	forEachKind(t, func(t *testing.T, _ bool, newP func(int, int, time.Duration) *partBuffers) {
		p := newP(1<<10, 2, time.Hour)
		a, b, c := p.get(), p.get(), p.get()
		if cap(a) != 1<<10 || len(a) != 0 || cap(c) != 1<<10 {
			t.Fatalf("get: len %d cap %d, want an empty 1 KiB buffer", len(a), cap(a))
		}
		a = append(a, "stale"...)
		p.put(a)
		p.put(b)
		p.put(c) // beyond keep: left to the collector
		if got, _ := p.kept(); got != 2 {
			t.Fatalf("kept %d buffers, want 2", got)
		}
		p.put(make([]byte, 0, 512)) // not a part buffer
		if got, _ := p.kept(); got != 2 {
			t.Fatalf("a buffer of another size was kept: %d", got)
		}
		seen := map[*byte]bool{}
		for range 2 {
			buf := p.get()
			if len(buf) != 0 {
				t.Fatalf("a kept buffer came back with %d bytes in it", len(buf))
			}
			seen[first(buf)] = true
		}
		if !seen[first(a)] || !seen[first(b)] {
			t.Fatal("get did not hand back the kept buffers")
		}
		if buf := p.get(); first(buf) == first(a) || first(buf) == first(b) || first(buf) == first(c) {
			t.Fatal("with the list empty, get handed out a buffer already in use")
		}
	})
}

// TestPartBuffersAreDistinct: the buffers handed out at once never
// overlap (the slab is cut in keep pieces of size bytes, capacity capped).
func TestPartBuffersAreDistinct(t *testing.T) {
	forEachKind(t, func(t *testing.T, _ bool, newP func(int, int, time.Duration) *partBuffers) {
		p := newP(4096, 3, time.Hour)
		bufs := [][]byte{p.get(), p.get(), p.get(), p.get()}
		for i := range bufs {
			bufs[i] = append(bufs[i], bytes.Repeat([]byte{byte('a' + i)}, 4096)...)
			if cap(bufs[i]) != 4096 {
				t.Fatalf("buffer %d grew to %d: it was not capped at its size", i, cap(bufs[i]))
			}
		}
		for i, b := range bufs {
			if !bytes.Equal(b, bytes.Repeat([]byte{byte('a' + i)}, 4096)) {
				t.Fatalf("buffer %d was overwritten by another", i)
			}
		}
	})
}

func TestPartBuffersLetGoWhenIdle(t *testing.T) {
	forEachKind(t, func(t *testing.T, heapOnly bool, newP func(int, int, time.Duration) *partBuffers) {
		p := newP(1<<10, 3, 50*time.Millisecond)
		buf := append(p.get(), "part"...)
		p.put(buf)
		idle := func() bool {
			n, releases := p.kept()
			if heapOnly {
				return n == 0
			}
			return releases > 0 && n == 3 // the slab stays, its pages go
		}
		deadline := time.Now().Add(5 * time.Second)
		for !idle() {
			if time.Now().After(deadline) {
				n, releases := p.kept()
				t.Fatalf("kept buffers were not let go after the idle time: %d kept, %d releases", n, releases)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// The list works after a trim, and a released buffer is usable.
		buf = append(p.get(), "again"...)
		if string(buf) != "again" {
			t.Fatalf("a buffer after the trim holds %q", buf)
		}
		p.put(buf)
		if n, _ := p.kept(); n == 0 {
			t.Fatal("after a trim nothing is kept again")
		}
	})
}
