package ratelimit

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxKeyBytes is the longest key stored as is; longer keys are hashed, so
// one entry costs at most about 200 bytes whatever the caller sends.
const maxKeyBytes = 64

// Config configures New.
type Config struct {
	// Rate is how many requests per second a key earns (> 0).
	Rate float64
	// Burst is how many requests a key may make at once (>= 1).
	Burst int
	// MaxKeys bounds the bucket table (>= 1).
	MaxKeys int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Redis, when set, keeps the buckets there, shared by every process
	// using it with the same RedisKey (shared.go); when Redis fails a
	// request is counted in this process's table instead. nil: local only.
	Redis redis.UniversalClient
	// RedisKey starts the buckets' keys, e.g. "atcr:rl:lookups:".
	// Required with Redis.
	RedisKey string
}

// Limiter is a set of token buckets, one per key. It is safe for
// concurrent use.
type Limiter struct {
	rate    float64
	burst   float64
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // → *bucket
	lru     *list.List               // front = most recently used

	shared *sharedBuckets // nil without Redis
}

type bucket struct {
	key    string
	tokens float64
	at     time.Time
}

// New returns a Limiter, or an error for a configuration that would limit
// nothing or everything.
func New(cfg Config) (*Limiter, error) {
	switch {
	case !(cfg.Rate > 0) || math.IsInf(cfg.Rate, 0):
		return nil, errors.New("ratelimit: Rate must be a positive number")
	case cfg.Burst < 1:
		return nil, errors.New("ratelimit: Burst must be at least 1")
	case cfg.MaxKeys < 1:
		return nil, errors.New("ratelimit: MaxKeys must be at least 1")
	case cfg.Redis != nil && cfg.RedisKey == "":
		return nil, errors.New("ratelimit: RedisKey is required with Redis")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	l := &Limiter{
		rate: cfg.Rate, burst: float64(cfg.Burst), maxKeys: cfg.MaxKeys, now: now,
		buckets: make(map[string]*list.Element), lru: list.New(),
	}
	if cfg.Redis != nil {
		l.shared = &sharedBuckets{rdb: cfg.Redis, prefix: cfg.RedisKey}
	}
	return l, nil
}

// Allow takes one token from key's bucket. When the bucket is empty it
// returns false and how long until the next token.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	key = storedKey(key)
	now := l.now()
	if ok, wait, err := l.sharedTake(key, now, true); err == nil {
		return ok, wait
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, l.waitFor(b)
}

// Blocked reports whether key's bucket is out of tokens, without taking
// one, and how long until it has one again. It suits limits on failures:
// check Blocked before the attempt, charge Allow only when it fails. A key
// without a bucket is not blocked and gets none.
func (l *Limiter) Blocked(key string) (blocked bool, retryAfter time.Duration) {
	key = storedKey(key)
	now := l.now()
	if ok, wait, err := l.sharedTake(key, now, false); err == nil {
		return !ok, wait
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.buckets[key]
	if !ok {
		return false, 0
	}
	b := el.Value.(*bucket)
	l.refill(b, now)
	if b.tokens >= 1 {
		return false, 0
	}
	return true, l.waitFor(b)
}

// storedKey is key as the table stores it: hashed when long.
func storedKey(key string) string {
	if len(key) > maxKeyBytes {
		sum := sha256.Sum256([]byte(key))
		key = hex.EncodeToString(sum[:16])
	}
	return key
}

// refill adds the tokens earned since the bucket was last seen. Caller
// holds l.mu.
func (l *Limiter) refill(b *bucket, now time.Time) {
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
	}
	b.at = now
}

// waitFor is how long until an empty bucket holds a token. Caller holds
// l.mu.
func (l *Limiter) waitFor(b *bucket) time.Duration {
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return max(wait, time.Millisecond)
}

// bucketLocked finds or makes key's bucket, evicting the least recently
// used one when the table is full. Caller holds l.mu.
func (l *Limiter) bucketLocked(key string, now time.Time) *bucket {
	if el, ok := l.buckets[key]; ok {
		l.lru.MoveToFront(el)
		return el.Value.(*bucket)
	}
	if l.lru.Len() >= l.maxKeys {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.buckets, oldest.Value.(*bucket).key)
	}
	b := &bucket{key: key, tokens: l.burst, at: now}
	l.buckets[key] = l.lru.PushFront(b)
	return b
}

// Len returns how many keys have a bucket.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}
