package throttle

import (
	"errors"
	"fmt"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
)

// Options configures New.
type Options struct {
	// Max failures within Window block a key. Required, positive.
	Max int
	// Window is how long a key's failures count. Required, positive.
	Window time.Duration
	// Size bounds the keys remembered. Required, positive.
	Size int
	// Now defaults to time.Now.
	Now func() time.Time
	// Redis, when set, counts the failures there, shared by every AppView
	// using it with the same RedisKey (shared.go); when Redis fails, this
	// process's table counts instead. nil: local only. Keys counted in
	// Redis must be strings or fmt.Stringers, spelled the same by every
	// process.
	Redis redis.UniversalClient
	// RedisKey starts the counters' keys, e.g. "atcr:fail:login-client:".
	// Required with Redis.
	RedisKey string
}

// Failures counts failures per key. It is safe for concurrent use.
type Failures[K comparable] struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu     sync.Mutex
	counts *lru.Cache[K, count]

	shared *sharedCounts // nil without Redis
}

type count struct {
	n     int
	since time.Time
}

// New returns an empty counter.
func New[K comparable](opts Options) (*Failures[K], error) {
	if opts.Max <= 0 || opts.Window <= 0 || opts.Size <= 0 {
		return nil, errors.New("throttle: Max, Window and Size must be positive")
	}
	if opts.Redis != nil && opts.RedisKey == "" {
		return nil, errors.New("throttle: RedisKey is required with Redis")
	}
	if opts.Redis != nil && !hasStableText[K]() {
		var zero K
		return nil, fmt.Errorf("throttle: keys of type %T need a String method to be counted in Redis", zero)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	counts, err := lru.New[K, count](opts.Size)
	if err != nil {
		return nil, fmt.Errorf("throttle: %w", err)
	}
	f := &Failures[K]{max: opts.Max, window: opts.Window, now: opts.Now, counts: counts}
	if opts.Redis != nil {
		f.shared = &sharedCounts{rdb: opts.Redis, prefix: opts.RedisKey}
	}
	return f, nil
}

// Blocked reports whether key has Max failures in its current window.
func (f *Failures[K]) Blocked(key K) bool {
	if blocked, err := f.shared.blocked(sharedKey(key), f.now(), f.window, f.max); err == nil {
		return blocked
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.counts.Get(key)
	return ok && c.n >= f.max && f.now().Before(c.since.Add(f.window))
}

// Record counts one failure of key, starting a new window when the last
// one has ended.
func (f *Failures[K]) Record(key K) {
	if f.shared.record(sharedKey(key), f.now(), f.window) == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	c, ok := f.counts.Get(key)
	if !ok || !now.Before(c.since.Add(f.window)) {
		c = count{since: now}
	}
	c.n++
	f.counts.Add(key, c)
}
