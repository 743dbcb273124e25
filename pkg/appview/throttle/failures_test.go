package throttle

import (
	"sync"
	"testing"
	"time"

	"atcr.io/internal/testclock"
)

func newFailures(t *testing.T, c *testclock.Clock, size int) *Failures[string] {
	t.Helper()
	f, err := New[string](Options{Max: 3, Window: time.Minute, Size: size, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBlockedAfterMaxWithinWindow(t *testing.T) {
	c := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := newFailures(t, c, 100)
	for i := range 3 {
		if f.Blocked("alice") {
			t.Fatalf("blocked after %d failures, want after 3", i)
		}
		f.Record("alice")
		c.Advance(10 * time.Second)
	}
	if !f.Blocked("alice") {
		t.Fatal("not blocked after 3 failures within the window")
	}
	if f.Blocked("bob") {
		t.Error("another key is blocked")
	}
	// The window runs from the first failure: 30 s have passed.
	c.Advance(29 * time.Second)
	if !f.Blocked("alice") {
		t.Error("unblocked before the window ended")
	}
	c.Advance(time.Second)
	if f.Blocked("alice") {
		t.Error("still blocked when the window ended")
	}
	// The next failure starts a new window with a count of one.
	f.Record("alice")
	if f.Blocked("alice") {
		t.Error("a failure after the window blocked at once")
	}
}

// Failures spread wider than the window never block.
func TestSpreadFailuresNeverBlock(t *testing.T) {
	c := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := newFailures(t, c, 100)
	for range 10 {
		f.Record("alice")
		c.Advance(31 * time.Second) // two failures per window at most
		if f.Blocked("alice") {
			t.Fatal("blocked with fewer than Max failures in any window")
		}
	}
}

// A key pushed out of the bounded memory starts over.
func TestBoundedKeys(t *testing.T) {
	c := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := newFailures(t, c, 2)
	for range 3 {
		f.Record("alice")
	}
	f.Record("bob")
	f.Record("carol")
	if f.Blocked("alice") {
		t.Error("an evicted key is still blocked")
	}
	if n := f.counts.Len(); n != 2 {
		t.Errorf("remembers %d keys, want at most 2", n)
	}
}

func TestConcurrentRecords(t *testing.T) {
	f, err := New[int](Options{Max: 100, Window: time.Hour, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() { defer wg.Done(); f.Record(1) }()
	}
	wg.Wait()
	if !f.Blocked(1) {
		t.Error("100 concurrent failures did not reach Max 100")
	}
}

func TestOptionsValidated(t *testing.T) {
	for _, o := range []Options{{Window: time.Minute, Size: 1}, {Max: 1, Size: 1}, {Max: 1, Window: time.Minute}} {
		if _, err := New[string](o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
