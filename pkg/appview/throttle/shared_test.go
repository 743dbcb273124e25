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

// stringerKey is a struct key with the String method Redis needs.
type stringerKey struct {
	owner string
	addr  netip.Prefix
}

func (k stringerKey) String() string { return k.owner + " " + k.addr.String() }

// A key's counter in Redis is named by text every process spells the same:
// fmt's rendering of a struct holding a netip.Prefix prints a pointer of
// this process, so such key types are refused with Redis, and a key's name
// is its String.
func TestSharedKeysAreSpelledTheSameEverywhere(t *testing.T) {
	rdb := redistest.New(t)
	opts := Options{Max: 1, Window: time.Minute, Size: 1, Redis: rdb, RedisKey: "atcr:fail:test:"}
	type bareKey struct {
		owner string
		addr  netip.Prefix
	}
	if _, err := New[bareKey](opts); err == nil {
		t.Fatal("a struct key without String accepted with Redis")
	}
	if _, err := New[bareKey](Options{Max: 1, Window: time.Minute, Size: 1}); err != nil {
		t.Fatalf("a struct key refused without Redis: %v", err)
	}
	type name string
	if _, err := New[name](opts); err != nil {
		t.Fatalf("a string key refused: %v", err)
	}
	if _, err := New[stringerKey](opts); err != nil {
		t.Fatalf("a Stringer key refused: %v", err)
	}
	k := stringerKey{owner: "did:plc:abc", addr: netip.MustParsePrefix("198.51.100.7/32")}
	if got, want := sharedKey(k), sharedKey("did:plc:abc 198.51.100.7/32"); got != want {
		t.Fatalf("sharedKey(%v) = %s, the name of its String is %s", k, got, want)
	}
	if sharedKey(name("x")) != sharedKey("x") {
		t.Fatal("a string kind is not named by its text")
	}
}
