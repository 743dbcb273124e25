package storage

import (
	"testing"
	"time"
)

func TestTTLCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTTLCache[string, int](2, time.Minute, func() time.Time { return now })
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
	c.Set("c", 3)
	c.Set("d", 4) // size 2: b is evicted
	if _, ok := c.Get("b"); ok {
		t.Fatal("size bound not enforced")
	}
	c.Remove("c")
	if _, ok := c.Get("c"); ok {
		t.Fatal("Remove kept c")
	}
}

func TestSizedCache(t *testing.T) {
	c := newSizedCache[int](100, func(b []byte) int64 { return int64(len(b)) })
	c.Add(1, make([]byte, 12))
	c.Add(2, make([]byte, 12))
	c.Add(3, make([]byte, 13)) // over an eighth of the budget: not cached
	if _, ok := c.Get(3); ok {
		t.Fatal("oversized value cached")
	}
	for i := 4; i < 12; i++ {
		c.Add(i, make([]byte, 12))
	}
	if used := c.used.Load(); used > 100 {
		t.Fatalf("%d bytes held, budget 100", used)
	}
	if _, ok := c.Get(1); ok {
		t.Fatal("least recently used entry not evicted")
	}
	if _, ok := c.Get(11); !ok {
		t.Fatal("newest entry evicted")
	}
	c.Add(11, make([]byte, 1)) // present: immutable, not replaced
	if v, _ := c.Get(11); len(v) != 12 {
		t.Fatal("present value replaced")
	}
}
