package ratelimit

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"atcr.io/internal/redistest"
	"atcr.io/internal/testclock"
)

func sharedLimiter(t *testing.T, clock *testclock.Clock, rdb redis.UniversalClient) *Limiter {
	t.Helper()
	l, err := New(Config{Rate: 1, Burst: 2, MaxKeys: 10, Now: clock.Now, Redis: rdb, RedisKey: "atcr:rl:test:"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Two AppViews on one Redis share each key's bucket: the burst is spent
// once across both, refills for both, and Blocked sees the other's spending.
// When Redis fails, a limiter counts in its own table.
func TestSharedBuckets(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rdb := redistest.New(t)
	a, b := sharedLimiter(t, clock, rdb), sharedLimiter(t, clock, rdb)
	if blocked, _ := b.Blocked("1.2.3.4"); blocked {
		t.Fatal("unknown key blocked")
	}
	if ok, _ := a.Allow("1.2.3.4"); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := b.Allow("1.2.3.4"); !ok {
		t.Fatal("second request (burst 2) refused")
	}
	ok, wait := a.Allow("1.2.3.4")
	if ok || wait != time.Second {
		t.Fatalf("third request across both AppViews: allowed %v, wait %s; want refused, 1s", ok, wait)
	}
	if blocked, _ := b.Blocked("1.2.3.4"); !blocked {
		t.Fatal("Blocked on the other AppView does not see the spent bucket")
	}
	if ok, _ := b.Allow("5.6.7.8"); !ok {
		t.Fatal("another key refused")
	}
	clock.Advance(time.Second)
	if ok, _ := b.Allow("1.2.3.4"); !ok {
		t.Fatal("refilled token refused")
	}

	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	c := sharedLimiter(t, clock, down)
	for i := range 2 {
		if ok, _ := c.Allow("1.2.3.4"); !ok {
			t.Fatalf("request %d refused with Redis down: want the local bucket", i)
		}
	}
	if ok, _ := c.Allow("1.2.3.4"); ok {
		t.Fatal("local bucket not limiting with Redis down")
	}
}
