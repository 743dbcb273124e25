package throttle

import (
	"net/netip"
	"testing"
	"time"

	"atcr.io/internal/redistest"
	"atcr.io/internal/testclock"
)

// Failures recorded on one AppView block the key on another sharing
// Redis, until the window ends.
func TestSharedFailures(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rdb := redistest.New(t)
	newShared := func() *Failures[netip.Prefix] {
		f, err := New[netip.Prefix](Options{Max: 3, Window: time.Minute, Size: 10, Now: clock.Now, Redis: rdb, RedisKey: "atcr:fail:test:"})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b := newShared(), newShared()
	key := netip.MustParsePrefix("192.0.2.0/24")
	a.Record(key)
	b.Record(key)
	if a.Blocked(key) || b.Blocked(key) {
		t.Fatal("blocked after two failures of three")
	}
	a.Record(key)
	if !b.Blocked(key) {
		t.Fatal("three failures across two AppViews do not block on the second")
	}
	if b.Blocked(netip.MustParsePrefix("198.51.100.0/24")) {
		t.Fatal("another key blocked")
	}
	clock.Advance(time.Minute)
	if a.Blocked(key) {
		t.Fatal("still blocked after the window")
	}
	b.Record(key) // a new window
	if a.Blocked(key) {
		t.Fatal("one failure of a new window blocks")
	}
	if _, err := New[string](Options{Max: 1, Window: time.Minute, Size: 1, Redis: rdb}); err == nil {
		t.Fatal("Redis without RedisKey accepted")
	}
}
