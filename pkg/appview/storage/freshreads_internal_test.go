package storage

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blockingCounter is a key whose reads block until released; each read
// returns how many reads were sent so far, so a value tells which read it
// came from.
type blockingCounter struct {
	sent    atomic.Int64
	started chan int64
	release chan struct{}
}

func (b *blockingCounter) get(ctx context.Context, key string) (int64, error) {
	n := b.sent.Add(1)
	b.started <- n
	<-b.release
	return n, nil
}

// TestFreshReadsNeverAnswerWithAnOlderRead: requests arriving while a read
// is in flight do not get its value (it may predate a write they saw
// finish); they share the one read sent after it.
func TestFreshReadsNeverAnswerWithAnOlderRead(t *testing.T) {
	b := &blockingCounter{started: make(chan int64, 8), release: make(chan struct{})}
	f := newFreshReads(b.get)
	ctx := t.Context()

	first := make(chan int64, 1)
	go func() { v, _ := f.read(ctx, "k"); first <- v }()
	if n := <-b.started; n != 1 {
		t.Fatalf("first read sent as #%d", n)
	}
	const waiting = 5
	var wg sync.WaitGroup
	got := make(chan int64, waiting)
	for range waiting {
		wg.Add(1)
		go func() { defer wg.Done(); v, _ := f.read(ctx, "k"); got <- v }()
	}
	// Let them all queue behind read #1, then let every read finish.
	waitFor(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.keys["k"].next != nil && f.keys["k"].next.waiters == waiting
	})
	close(b.release)
	if v := <-first; v != 1 {
		t.Errorf("first request got read #%d, want #1", v)
	}
	wg.Wait()
	close(got)
	for v := range got {
		if v != 2 {
			t.Errorf("a request that arrived during read #1 got read #%d, want #2", v)
		}
	}
	if n := b.sent.Load(); n != 2 {
		t.Errorf("%d reads sent for 1 + %d requests, want 2", n, waiting)
	}
	// Idle again: the next request sends its own read.
	if v, _ := f.read(ctx, "k"); v != 3 {
		t.Errorf("a later request got read #%d, want #3", v)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.keys) != 0 {
		t.Errorf("%d keys still tracked when idle", len(f.keys))
	}
}

// TestFreshReadsWaiterGivesUp: a request waiting for a shared read stops
// with its context; the read goes on for the others.
func TestFreshReadsWaiterGivesUp(t *testing.T) {
	b := &blockingCounter{started: make(chan int64, 8), release: make(chan struct{})}
	f := newFreshReads(b.get)
	go func() { _, _ = f.read(t.Context(), "k") }()
	<-b.started
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := f.read(ctx, "k"); done <- err }()
	waitFor(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.keys["k"].next != nil
	})
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled waiter got a value")
	}
	close(b.release)
	waitFor(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.keys) == 0
	})
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 5 s")
}
