package storage

import (
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// ttlCache is a bounded LRU whose entries expire individually. Expired
// entries are dropped when read; the size bound evicts the least recently
// used. It is safe for concurrent use.
type ttlCache[K comparable, V any] struct {
	lru *lru.Cache[K, ttlEntry[V]]
	ttl time.Duration
	now func() time.Time
}

type ttlEntry[V any] struct {
	value   V
	expires time.Time
}

func newTTLCache[K comparable, V any](size int, ttl time.Duration, now func() time.Time) *ttlCache[K, V] {
	c, err := lru.New[K, ttlEntry[V]](size)
	if err != nil {
		panic("storage: cache size must be positive") // sizes come from withDefaults
	}
	return &ttlCache[K, V]{lru: c, ttl: ttl, now: now}
}

// Get returns the live value for k.
func (c *ttlCache[K, V]) Get(k K) (V, bool) {
	e, ok := c.lru.Get(k)
	if !ok {
		var zero V
		return zero, false
	}
	if !c.now().Before(e.expires) {
		c.lru.Remove(k)
		var zero V
		return zero, false
	}
	return e.value, true
}

// Set stores v for the cache's TTL.
func (c *ttlCache[K, V]) Set(k K, v V) { c.SetFor(k, v, c.ttl) }

// SetFor stores v for ttl; a ttl of zero or less stores nothing.
func (c *ttlCache[K, V]) SetFor(k K, v V, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.lru.Add(k, ttlEntry[V]{value: v, expires: c.now().Add(ttl)})
}

// Remove drops k.
func (c *ttlCache[K, V]) Remove(k K) { c.lru.Remove(k) }

// sizedCache is an LRU of immutable byte payloads bounded by their total
// size: manifests by digest never change, so entries never expire, but
// memory is bounded.
type sizedCache[K comparable, V any] struct {
	lru  *lru.Cache[K, V]
	size func(V) int64
	used atomic.Int64
	max  int64
}

func newSizedCache[K comparable, V any](maxBytes int64, size func(V) int64) *sizedCache[K, V] {
	c := &sizedCache[K, V]{size: size, max: maxBytes}
	// The entry count only backs up the byte budget.
	l, err := lru.NewWithEvict[K, V](1<<20, func(_ K, v V) { c.used.Add(-size(v)) })
	if err != nil {
		panic("storage: " + err.Error())
	}
	c.lru = l
	return c
}

// Get returns the value for k.
func (c *sizedCache[K, V]) Get(k K) (V, bool) { return c.lru.Get(k) }

// Add stores v unless k is present (values are immutable) or v alone
// would take more than an eighth of the budget; then it evicts the least
// recently used entries until the budget holds.
func (c *sizedCache[K, V]) Add(k K, v V) {
	n := c.size(v)
	if n > c.max/8 {
		return
	}
	if present, _ := c.lru.ContainsOrAdd(k, v); present {
		return
	}
	c.used.Add(n)
	for c.used.Load() > c.max {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			return
		}
	}
}
