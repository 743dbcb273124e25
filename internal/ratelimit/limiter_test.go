package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atcr.io/internal/clientaddr"
	"atcr.io/internal/testclock"
)

func newLimiter(t *testing.T, clock *testclock.Clock, rate float64, burst, keys int) *Limiter {
	t.Helper()
	l, err := New(Config{Rate: rate, Burst: burst, MaxKeys: keys, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLimiterBurstThenRate: a key gets Burst requests at once, then one
// per 1/Rate, and is told how long to wait; other keys are unaffected.
func TestLimiterBurstThenRate(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newLimiter(t, clock, 2, 3, 10) // 2/s, burst 3
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("fourth request: ok=%v wait=%s, want refused for 500ms", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key was limited")
	}
	clock.Advance(500 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused after waiting Retry-After")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("a second request in the same instant passed")
	}
	clock.Advance(time.Hour) // refills to Burst, not beyond
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("after an hour, request %d refused", i)
		}
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("bucket refilled beyond Burst")
	}
}

// TestLimiterTableBounded: many distinct keys (long ones too) never grow
// the table beyond MaxKeys; the least recently used key is evicted.
func TestLimiterTableBounded(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newLimiter(t, clock, 1, 1, 100)
	for i := range 10_000 {
		l.Allow(fmt.Sprintf("%d-%s", i, strings.Repeat("x", 1000)))
	}
	if l.Len() != 100 {
		t.Fatalf("%d keys kept, want 100", l.Len())
	}
	for _, b := range l.buckets {
		if k := b.Value.(*bucket).key; len(k) > maxKeyBytes {
			t.Fatalf("a %d-byte key was stored", len(k))
		}
	}
	l2 := newLimiter(t, clock, 1, 1, 2)
	l2.Allow("a")
	l2.Allow("b")
	l2.Allow("a") // a is now more recent than b
	l2.Allow("c") // evicts b
	if ok, _ := l2.Allow("a"); ok {
		t.Fatal("a was evicted instead of b")
	}
	if ok, _ := l2.Allow("b"); !ok {
		t.Fatal("b should have started over with a full bucket")
	}
}

func TestNewRefusesNonsense(t *testing.T) {
	for _, cfg := range []Config{{Rate: 0, Burst: 1, MaxKeys: 1}, {Rate: 1, Burst: 0, MaxKeys: 1}, {Rate: 1, Burst: 1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// TestClientMiddleware: the handler's context carries the client address.
func TestClientMiddleware(t *testing.T) {
	var got string
	addrs, err := clientaddr.New(clientaddr.DefaultTrustedProxies)
	if err != nil {
		t.Fatal(err)
	}
	h := ClientMiddleware(addrs)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = ClientFrom(r.Context())
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "198.51.100.7/32" {
		t.Fatalf("client %q, want the forwarded address's key", got)
	}
	if _, ok := ClientFrom(context.Background()); ok {
		t.Fatal("a background context has a client")
	}
}

// TestGate: a request's lookups are charged to its client key; work
// without a client is free; the refusal carries the wait.
func TestGate(t *testing.T) {
	clock := testclock.New(time.Unix(0, 0))
	l, err := New(Config{Rate: 1, Burst: 2, MaxKeys: 10, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	gate := Gate(l, nil)
	ctx := context.WithValue(context.Background(), clientKey{}, "198.51.100.7/32")
	for i := range 2 {
		if err := gate(ctx); err != nil {
			t.Fatalf("lookup %d within the burst: %v", i, err)
		}
	}
	err = gate(ctx)
	var limited *LimitedError
	if !errors.As(err, &limited) || !errors.Is(err, ErrLimited) || limited.Wait <= 0 {
		t.Fatalf("third lookup: %v, want a LimitedError with a wait", err)
	}
	if err := gate(context.Background()); err != nil {
		t.Fatalf("work no request started was limited: %v", err)
	}
}

// TestBlockedPeeks: Blocked never takes a token or makes a bucket; it says
// a key is blocked exactly when Allow would refuse it.
func TestBlockedPeeks(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newLimiter(t, clock, 1, 2, 10) // 1/s, burst 2
	if blocked, _ := l.Blocked("a"); blocked || l.Len() != 0 {
		t.Fatalf("unknown key: blocked=%v, %d buckets; want not blocked and no bucket", blocked, l.Len())
	}
	l.Allow("a")
	for range 5 {
		if blocked, _ := l.Blocked("a"); blocked {
			t.Fatal("one token left, yet blocked")
		}
	}
	l.Allow("a")
	blocked, wait := l.Blocked("a")
	if !blocked || wait != time.Second {
		t.Fatalf("empty bucket: blocked=%v wait=%s, want blocked for 1s", blocked, wait)
	}
	clock.Advance(time.Second)
	if blocked, _ := l.Blocked("a"); blocked {
		t.Fatal("a token was earned, yet blocked")
	}
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("Blocked took the earned token")
	}
}
