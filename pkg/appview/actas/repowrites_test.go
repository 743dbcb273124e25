package actas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"

	"atcr.io/internal/redistest"
	"atcr.io/pkg/appview/appoauth"
)

// concurrencyPDS answers every request after a pause and records the most
// requests it had in flight at once: per account (the client's
// X-Test-Account header) and kind ("write" for a POST, "read" for a GET),
// and every account's writes together ("all write").
type concurrencyPDS struct {
	srv   *httptest.Server
	mu    sync.Mutex
	now   map[string]int
	most  map[string]int
	seen  atomic.Int32
	pause time.Duration
}

func newConcurrencyPDS(t *testing.T) *concurrencyPDS {
	p := &concurrencyPDS{now: map[string]int{}, most: map[string]int{}, pause: 20 * time.Millisecond}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.seen.Add(1)
		kind := "read"
		if r.Method == http.MethodPost {
			kind = "write"
		}
		keys := []string{r.Header.Get("X-Test-Account") + " " + kind, "all " + kind}
		p.mu.Lock()
		for _, k := range keys {
			p.now[k]++
			p.most[k] = max(p.most[k], p.now[k])
		}
		p.mu.Unlock()
		time.Sleep(p.pause)
		p.mu.Lock()
		for _, k := range keys {
			p.now[k]--
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *concurrencyPDS) mostAtOnce(account, kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.most[account+" "+kind]
}

// chooserOver returns a Chooser whose app-password source hands out
// clients of pds (a shared one per account, as a cache would), and whose
// OAuth source has no sessions.
func chooserOver(t *testing.T, pds *concurrencyPDS, mutate ...func(*Options)) *Chooser {
	t.Helper()
	var mu sync.Mutex
	clients := map[syntax.DID]*atclient.APIClient{}
	return newChooser(t, Options{
		OAuth: func(context.Context, syntax.DID) (*atclient.APIClient, error) {
			return nil, fmt.Errorf("test: %w", appoauth.ErrNoOAuthSession)
		},
		AppPassword: func(_ context.Context, did syntax.DID) (*atclient.APIClient, error) {
			mu.Lock()
			defer mu.Unlock()
			if clients[did] == nil {
				clients[did] = &atclient.APIClient{Client: pds.srv.Client(), Host: pds.srv.URL,
					Headers: http.Header{"X-Test-Account": []string{did.String()}}}
			}
			return clients[did], nil
		},
	}, mutate...)
}

// send returns a call of method (a procedure with POST, a query with GET)
// through a PDS client c hands out for did.
func send(c *Chooser, did syntax.DID, httpMethod string, method syntax.NSID) func() error {
	return func() error {
		ctx := context.Background()
		api, err := c.Client(ctx, did)
		if err != nil {
			return err
		}
		params := map[string]any{"repo": did.String()}
		if httpMethod == http.MethodGet {
			return api.Get(ctx, method, params, nil)
		}
		return api.Post(ctx, method, params, nil)
	}
}

// concurrently runs every call at once and fails t on any error.
func concurrently(t *testing.T, calls ...func() error) {
	t.Helper()
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestRepoWritesOneAtATime: concurrent writes to one account's repository
// reach its PDS one at a time, whichever client sends them; writes to
// another account and reads are not held back by them.
func TestRepoWritesOneAtATime(t *testing.T) {
	pds := newConcurrencyPDS(t)
	c := chooserOver(t, pds)
	bob := syntax.DID("did:plc:bob00000000000000000000")
	var calls []func() error
	for _, did := range []syntax.DID{alice.DID, bob} {
		for i := range 4 {
			method := syntax.NSID("com.atproto.repo.applyWrites")
			if i%2 == 1 {
				method = "com.atproto.repo.uploadBlob"
			}
			calls = append(calls, send(c, did, http.MethodPost, method), send(c, did, http.MethodGet, "com.atproto.repo.getRecord"))
		}
	}
	concurrently(t, calls...)
	for _, did := range []string{alice.DID.String(), bob.String()} {
		if writes := pds.mostAtOnce(did, "write"); writes != 1 {
			t.Errorf("%s: %d writes in flight at once, want 1", did, writes)
		}
		if reads := pds.mostAtOnce(did, "read"); reads < 2 {
			t.Errorf("%s: %d reads in flight at once, want them not held back (>= 2)", did, reads)
		}
	}
	if writes := pds.mostAtOnce("all", "write"); writes != 2 {
		t.Errorf("%d writes in flight at once over two accounts, want 2 (one each)", writes)
	}
	if n := c.repoWrites.Len(); n != 0 {
		t.Errorf("%d repository locks left after every write ended", n)
	}
}

// TestRepoWriteWaitEndsWithContext: a write waiting for the account's lock
// gives up when its context ends, and never reaches the PDS.
func TestRepoWriteWaitEndsWithContext(t *testing.T) {
	pds := newConcurrencyPDS(t)
	pds.pause = 300 * time.Millisecond
	c := chooserOver(t, pds)
	ctx := context.Background()
	first, err := c.Client(ctx, alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- first.Post(ctx, "com.atproto.repo.applyWrites", map[string]any{}, nil)
	}()
	for pds.seen.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second, err := c.Client(ctx, alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	err = second.Post(wait, "com.atproto.repo.putRecord", map[string]any{}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a write waiting behind another: %v, want the context's deadline", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the first write: %v", err)
	}
	if n := pds.seen.Load(); n != 1 {
		t.Fatalf("the PDS saw %d requests, want 1 (the waiting write gave up before sending)", n)
	}
}

// TestRepoWritesOneAtATimeAcrossAppViews: two AppViews sharing a Redis send
// one account's writes one at a time between them too; a Redis that does
// not answer holds no write back.
func TestRepoWritesOneAtATimeAcrossAppViews(t *testing.T) {
	pds := newConcurrencyPDS(t)
	rdb := redistest.New(t)
	shared := func(o *Options) { o.Redis = rdb; o.RedisPrefix = "test:" }
	appviews := []*Chooser{chooserOver(t, pds, shared), chooserOver(t, pds, shared)}
	ctx := context.Background()
	var calls []func() error
	for i := range 8 {
		calls = append(calls, send(appviews[i%2], alice.DID, http.MethodPost, "com.atproto.repo.applyWrites"))
	}
	concurrently(t, calls...)
	if writes := pds.mostAtOnce(alice.DID.String(), "write"); writes != 1 {
		t.Errorf("%d writes in flight at once through two AppViews, want 1", writes)
	}
	if keys, err := rdb.Keys(ctx, "test:pdswrite:*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("shared locks left after every write ended: %v, %v", keys, err)
	}

	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	lone := chooserOver(t, pds, func(o *Options) { o.Redis = down })
	api, err := lone.Client(ctx, alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Post(ctx, "com.atproto.repo.applyWrites", map[string]any{}, nil); err != nil {
		t.Fatalf("a write while Redis is down: %v, want it sent without the shared lock", err)
	}
}
