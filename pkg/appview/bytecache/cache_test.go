package bytecache

import (
	"testing"
	"time"
)

func TestTTLCache(t *testing.T) {
	now := time.Unix(1000, 0)
	size := func(string, int) int64 { return 4 }
	c := NewTTL[string, int](2*(4+EntryOverhead)*8, time.Minute, func() time.Time { return now }, size)
	c.Set("a", 1)
	c.SetFor("b", 2, time.Hour)
	c.SetFor("never", 3, 0)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatal("a missing")
	}
	if _, ok := c.Get("never"); ok {
		t.Fatal("a zero TTL stored a value")
	}
	now = now.Add(2 * time.Minute)
	if _, ok := c.Get("a"); ok {
		t.Fatal("a survived its TTL")
	}
	if _, ok := c.Get("b"); !ok {
		t.Fatal("b expired early")
	}
	for i := range 20 {
		c.Set(string(rune('c'+i)), i)
	}
	if _, ok := c.Get("b"); ok {
		t.Fatal("byte bound not enforced: the oldest entry stayed")
	}
	if c.Bytes() > c.max {
		t.Fatalf("%d bytes held, bound %d", c.Bytes(), c.max)
	}
	c.Remove("v")
	if _, ok := c.Get("v"); ok {
		t.Fatal("Remove kept v")
	}
}

// TestCacheBoundsLongValues: entries are counted by their bytes, so long
// values (a hold's presigned URL, a large manifest) fill the bound sooner
// than short ones, and one that alone would take an eighth is not kept.
func TestCacheBoundsLongValues(t *testing.T) {
	c := NewImmutable[int, []byte](1000+8*EntryOverhead, func(_ int, b []byte) int64 { return int64(len(b)) })
	c.Add(1, make([]byte, 100))
	c.Add(2, make([]byte, 100))
	c.Add(3, make([]byte, 1000)) // over an eighth of the bound: not cached
	if _, ok := c.Get(3); ok {
		t.Fatal("oversized value cached")
	}
	for i := 4; i < 40; i++ {
		c.Add(i, make([]byte, 100))
	}
	if c.Bytes() > c.max {
		t.Fatalf("%d bytes held, bound %d", c.Bytes(), c.max)
	}
	if _, ok := c.Get(1); ok {
		t.Fatal("least recently used entry not evicted")
	}
	if _, ok := c.Get(39); !ok {
		t.Fatal("newest entry evicted")
	}
	c.Add(39, make([]byte, 1)) // present: immutable, not replaced
	if v, _ := c.Get(39); len(v) != 100 {
		t.Fatal("present value replaced")
	}
}

// TestExpiredEntriesDrainUnderChurn: keys written once and never read
// again (new images, one after another) do not pile up until the byte
// bound: each write drops expired entries from the old end, so the cache
// holds about what its TTL spans.
func TestExpiredEntriesDrainUnderChurn(t *testing.T) {
	now := time.Unix(1000, 0)
	const entry = 8 + EntryOverhead
	c := NewTTL[int, int](1_000_000*entry, 10*time.Second, func() time.Time { return now }, func(int, int) int64 { return 8 })
	for i := range 10_000 { // 100 writes a second for 100 s
		c.Set(i, i)
		if i%100 == 99 {
			now = now.Add(time.Second)
		}
	}
	// The last 10 s are live (1,000 entries); nearly all older ones went.
	if got, limit := c.Bytes()/entry, int64(1_100); got > limit {
		t.Fatalf("%d entries held after 100 s of churn with a 10 s TTL, want at most %d", got, limit)
	}
	if _, ok := c.Get(9_999); !ok {
		t.Fatal("the newest entry is gone")
	}
	// An immutable cache keeps everything under its bound.
	m := NewImmutable[int, int](1_000_000*entry, func(int, int) int64 { return 8 })
	for i := range 1_000 {
		m.Add(i, i)
	}
	if got := m.Bytes() / entry; got != 1_000 {
		t.Fatalf("immutable cache holds %d entries, want 1000", got)
	}
}
