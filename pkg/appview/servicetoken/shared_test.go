package servicetoken

import (
	"context"
	"testing"
	"time"

	"atcr.io/internal/redistest"
	"atcr.io/internal/testclock"
)

// Two AppViews sharing Redis mint a token once: the second uses the
// first's until Margin before it expires, then mints its own, which the
// first then uses. Without RedisKey, Redis is refused.
func TestTokenSharedThroughRedis(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.New(t)
	f := newFakePDS(t, testclock.New(start))
	shared := func(o *Options) { o.TTL = time.Minute; o.Redis = rdb; o.RedisKey = "atcr:stok:oauth:" }
	a, b := newCache(t, f, shared), newCache(t, f, shared)

	first, err := a.Token(ctx, aliceDID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Token(ctx, aliceDID, holdDID, uploadLXM); err != nil || got != first {
		t.Fatalf("second AppView: another token (err %v)", err)
	}
	if n := f.Calls(); n != 1 {
		t.Fatalf("getServiceAuth calls = %d, want 1 (shared)", n)
	}
	f.clock.Advance(51 * time.Second) // inside the 10 s margin
	fresh, err := b.Token(ctx, aliceDID, holdDID, uploadLXM)
	if err != nil || fresh == first {
		t.Fatalf("near expiry: reused the old token (err %v)", err)
	}
	if got, err := a.Token(ctx, aliceDID, holdDID, uploadLXM); err != nil || got != fresh {
		t.Fatalf("first AppView after the re-mint: not the shared token (err %v)", err)
	}
	if n := f.Calls(); n != 2 {
		t.Fatalf("getServiceAuth calls = %d, want 2", n)
	}
	if _, err := New(Options{Client: f.client, Redis: rdb}); err == nil {
		t.Fatal("Redis without RedisKey accepted")
	}
}
