package bytecache

import (
	"math"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// EntryOverhead approximates what one cache entry costs beyond its key and
// value bytes (list element, map bucket, expiry).
const EntryOverhead = 96

// Cache is an LRU bounded by the bytes of its entries, whose entries may
// expire individually. Expired entries are dropped when read, and each
// write drops up to sweepPerPut expired ones from the least recently used
// end; the byte bound evicts the least recently used. Keys and values
// come from users (DIDs, tags, hold answers, scan reports), and an entry
// count alone would let long ones through. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	mu   sync.Mutex
	lru  *simplelru.LRU[K, cacheEntry[V]]
	size func(K, V) int64
	used int64
	max  int64
	ttl  time.Duration // 0: entries never expire
	now  func() time.Time
}

type cacheEntry[V any] struct {
	value   V
	expires time.Time // zero: never
	bytes   int64
}

// NewTTL returns a cache of at most maxBytes whose entries live ttl (Set)
// or as long as SetFor says; size measures a key and its value. A nil now
// is time.Now.
func NewTTL[K comparable, V any](maxBytes int64, ttl time.Duration, now func() time.Time, size func(K, V) int64) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	c := &Cache[K, V]{size: size, max: maxBytes, ttl: ttl, now: now}
	// The entry count only backs up the byte bound.
	l, err := simplelru.NewLRU[K, cacheEntry[V]](math.MaxInt32, func(_ K, e cacheEntry[V]) { c.used -= e.bytes })
	if err != nil {
		panic("bytecache: " + err.Error())
	}
	c.lru = l
	return c
}

// NewImmutable returns a cache of at most maxBytes for values that never
// change (manifests by digest): entries never expire.
func NewImmutable[K comparable, V any](maxBytes int64, size func(K, V) int64) *Cache[K, V] {
	return NewTTL[K, V](maxBytes, 0, time.Now, size)
}

// Get returns the live value for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(k)
	if !ok {
		var zero V
		return zero, false
	}
	if !e.expires.IsZero() && !c.now().Before(e.expires) {
		c.lru.Remove(k)
		var zero V
		return zero, false
	}
	return e.value, true
}

// Set stores v for the cache's TTL (for ever without one).
func (c *Cache[K, V]) Set(k K, v V) {
	if c.ttl == 0 {
		c.put(k, v, time.Time{}, true)
		return
	}
	c.SetFor(k, v, c.ttl)
}

// SetFor stores v for ttl; a ttl of zero or less stores nothing.
func (c *Cache[K, V]) SetFor(k K, v V, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.put(k, v, c.now().Add(ttl), true)
}

// Add stores an immutable v unless k is present.
func (c *Cache[K, V]) Add(k K, v V) { c.put(k, v, time.Time{}, false) }

// sweepPerPut is how many expired entries a write may drop from the least
// recently used end. Entries written once and never read again (a blob's
// size, a tag's answer, under a registry's steady churn of new images)
// would otherwise stay until the byte bound pushed them out, and every TTL
// cache would grow to its bound; with two per write, expired entries drain
// faster than new ones arrive, and a cache holds about what its TTL spans.
const sweepPerPut = 2

// put stores v, evicting the least recently used entries until the bound
// holds. A value that alone would take more than an eighth of the bound is
// not kept: it would evict everything else.
func (c *Cache[K, V]) put(k K, v V, expires time.Time, replace bool) {
	n := c.size(k, v) + EntryOverhead
	if n > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !replace && c.lru.Contains(k) {
		return
	}
	c.sweep()
	c.lru.Remove(k)
	c.lru.Add(k, cacheEntry[V]{value: v, expires: expires, bytes: n})
	c.used += n
	for c.used > c.max {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			return
		}
	}
}

// sweep drops up to sweepPerPut expired entries from the least recently
// used end, stopping at the first live one. c.mu is held.
func (c *Cache[K, V]) sweep() {
	var now time.Time
	for range sweepPerPut {
		_, e, ok := c.lru.GetOldest()
		if !ok || e.expires.IsZero() {
			return
		}
		if now.IsZero() {
			now = c.now()
		}
		if now.Before(e.expires) {
			return
		}
		c.lru.RemoveOldest()
	}
}

// Remove drops k.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(k)
}

// Bytes reports what the entries take now, overhead included.
func (c *Cache[K, V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
