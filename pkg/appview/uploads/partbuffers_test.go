package uploads

import (
	"testing"
	"time"
)

func TestPartBuffersReuseKeptBuffers(t *testing.T) {
	p := newPartBuffers(1<<10, 2, time.Hour)
	a, b, c := p.get(), p.get(), p.get()
	if cap(a) != 1<<10 || len(a) != 0 {
		t.Fatalf("get: len %d cap %d, want an empty 1 KiB buffer", len(a), cap(a))
	}
	a = append(a, "stale"...)
	p.put(a)
	p.put(b)
	p.put(c) // beyond keep: left to the collector
	if got := p.kept(); got != 2 {
		t.Fatalf("kept %d buffers, want 2", got)
	}
	p.put(make([]byte, 0, 512)) // not a part buffer
	if got := p.kept(); got != 2 {
		t.Fatalf("a buffer of another size was kept: %d", got)
	}
	seen := map[*byte]bool{}
	for range 2 {
		buf := p.get()
		if len(buf) != 0 {
			t.Fatalf("a kept buffer came back with %d bytes in it", len(buf))
		}
		seen[&buf[:1][0]] = true
	}
	if !seen[&a[:1][0]] || !seen[&b[:1][0]] {
		t.Fatal("get did not hand back the kept buffers")
	}
	if buf := p.get(); &buf[:1][0] == &a[:1][0] || &buf[:1][0] == &b[:1][0] || &buf[:1][0] == &c[:1][0] {
		t.Fatal("with the list empty, get handed out a buffer already in use")
	}
}

func TestPartBuffersLetGoWhenIdle(t *testing.T) {
	p := newPartBuffers(1<<10, 3, 50*time.Millisecond)
	p.put(p.get())
	p.put(p.get())
	if got := p.kept(); got != 1 {
		t.Fatalf("kept %d, want 1", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.kept() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("kept buffers were not dropped after the idle time")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The list works again after a trim.
	p.put(p.get())
	if got := p.kept(); got != 1 {
		t.Fatalf("after a trim: kept %d, want 1", got)
	}
}
