package servicetoken

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/golang-jwt/jwt/v5"

	"atcr.io/internal/testclock"
)

const (
	aliceDID  = syntax.DID("did:plc:alice000000000000000000")
	holdDID   = syntax.DID("did:web:hold.example")
	uploadLXM = syntax.NSID("io.atcr.hold.initiateUpload")
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakePDS answers getServiceAuth over real HTTP like the reference PDS:
// an exp in its past or more than an hour ahead is BadExpiration, no exp
// gives a 60 s token. status, when set, is returned instead of a token.
type fakePDS struct {
	clock *testclock.Clock
	srv   *httptest.Server

	mu      sync.Mutex
	calls   int
	status  int           // answer with this HTTP status and error name "Forbidden"
	maxLife time.Duration // cap on the token's lifetime (0: none)
	empty   bool          // answer with an empty token
	gate    chan struct{} // when set, each call waits for it to close
	n       int
}

func newFakePDS(t *testing.T, c *testclock.Clock) *fakePDS {
	f := &fakePDS{clock: c}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePDS) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/xrpc/"+getServiceAuth {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.status != 0 {
		writeJSON(w, f.status, map[string]string{"error": "Forbidden", "message": "no scope"})
		return
	}
	q := r.URL.Query()
	now := f.clock.Now()
	exp := now.Add(time.Minute)
	if s := q.Get("exp"); s != "" {
		sec, _ := strconv.ParseInt(s, 10, 64)
		exp = time.Unix(sec, 0)
		if !exp.After(now) || exp.Sub(now) > time.Hour {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "BadExpiration", "message": "bad exp"})
			return
		}
	}
	if f.maxLife > 0 && exp.Sub(now) > f.maxLife {
		exp = now.Add(f.maxLife)
	}
	if f.empty {
		writeJSON(w, http.StatusOK, map[string]string{"token": ""})
		return
	}
	f.n++
	claims := jwt.MapClaims{"iss": "did:plc:alice000000000000000000", "aud": q.Get("aud"), "lxm": q.Get("lxm"),
		"exp": exp.Unix(), "jti": strconv.Itoa(f.n)}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("test"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

func (f *fakePDS) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// set changes the fake's behaviour under its lock.
func (f *fakePDS) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakePDS) client(context.Context, syntax.DID) (*atclient.APIClient, error) {
	return atclient.NewAPIClient(f.srv.URL), nil
}

func newCache(t *testing.T, f *fakePDS, mutate ...func(*Options)) *Cache {
	t.Helper()
	opts := Options{Client: f.client, Now: f.clock.Now}
	for _, m := range mutate {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenCachedPerKeyAndRemintedNearExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFakePDS(t, testclock.New(start))
	c := newCache(t, f, func(o *Options) { o.TTL = time.Minute })

	first, err := c.Token(ctx, aliceDID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(time.Minute); !Expiry(first).Equal(want) {
		t.Errorf("exp %s, want now+TTL %s", Expiry(first), want)
	}
	f.clock.Advance(40 * time.Second)
	if again, err := c.Token(ctx, aliceDID, holdDID, uploadLXM); err != nil || again != first {
		t.Fatalf("40s later: got a different token (err %v)", err)
	}
	if n := f.Calls(); n != 1 {
		t.Errorf("getServiceAuth calls = %d, want 1 (cached)", n)
	}
	// Another method, audience or user is another token.
	for _, k := range []key{{aliceDID, holdDID, "io.atcr.hold.completeUpload"}, {aliceDID, "did:web:other.example", uploadLXM},
		{"did:plc:bob", holdDID, uploadLXM}} {
		if _, err := c.Token(ctx, k.did, k.aud, k.lxm); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Calls(); n != 4 {
		t.Errorf("getServiceAuth calls = %d, want 4", n)
	}
	f.clock.Advance(11 * time.Second) // 9 s left: inside the 10 s margin
	fresh, err := c.Token(ctx, aliceDID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == first {
		t.Error("a token within the margin of its expiry was reused")
	}
	if n := f.Calls(); n != 5 {
		t.Errorf("getServiceAuth calls = %d, want 5 (re-minted)", n)
	}
}

// A PDS that issues shorter tokens than asked: the token's own exp decides
// when it is re-minted.
func TestTokenOwnExpiryWins(t *testing.T) {
	ctx := context.Background()
	f := newFakePDS(t, testclock.New(start))
	f.set(func() { f.maxLife = 30 * time.Second })
	c := newCache(t, f)
	first, err := c.Token(ctx, aliceDID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(21 * time.Second) // 9 s left of the token's own 30 s
	again, err := c.Token(ctx, aliceDID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	if again == first || f.Calls() != 2 {
		t.Errorf("token kept past its own exp minus the margin (calls %d)", f.Calls())
	}
}

func TestTokenConcurrentMissesMintOnce(t *testing.T) {
	ctx := context.Background()
	f := newFakePDS(t, testclock.New(start))
	c := newCache(t, f)
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	errs := make([]error, 20)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i], errs[i] = c.Token(ctx, aliceDID, holdDID, uploadLXM)
		}()
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil || tokens[i] != tokens[0] {
			t.Fatalf("caller %d: token differs or failed: %v", i, errs[i])
		}
	}
	if n := f.Calls(); n != 1 {
		t.Errorf("getServiceAuth calls = %d, want 1", n)
	}
}

// Our clock runs two hours behind the PDS: every exp we ask for is in its
// past, so the mint is retried without exp and the PDS default is kept.
func TestTokenClockSkewFallsBackToPDSDefault(t *testing.T) {
	ctx := context.Background()
	f := newFakePDS(t, testclock.New(start))
	c := newCache(t, f, func(o *Options) {
		o.Now = func() time.Time { return f.clock.Now().Add(-2 * time.Hour) }
	})
	tok, err := c.Token(ctx, aliceDID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(time.Minute); !Expiry(tok).Equal(want) {
		t.Errorf("exp %s, want the PDS default %s", Expiry(tok), want)
	}
	if n := f.Calls(); n != 2 {
		t.Errorf("getServiceAuth calls = %d, want 2 (refused, then default)", n)
	}
}

func TestTokenErrors(t *testing.T) {
	ctx := context.Background()
	f := newFakePDS(t, testclock.New(start))
	c := newCache(t, f)
	if _, err := c.Token(ctx, aliceDID, holdDID, ""); err == nil {
		t.Error("empty lxm accepted")
	}
	if n := f.Calls(); n != 0 {
		t.Errorf("getServiceAuth calls = %d, want 0", n)
	}

	f.set(func() { f.status = http.StatusForbidden })
	_, err := c.Token(ctx, aliceDID, holdDID, uploadLXM)
	var apiErr *atclient.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
		t.Errorf("refused mint: err = %v, want the PDS's 403 APIError inside", err)
	}
	f.set(func() { f.status, f.empty = 0, true })
	if _, err := c.Token(ctx, aliceDID, holdDID, uploadLXM); err == nil {
		t.Error("an empty token was accepted")
	}

	// The client's own errors come back unwrapped.
	errNoSession := errors.New("no session")
	broken := newCache(t, f, func(o *Options) {
		o.Client = func(context.Context, syntax.DID) (*atclient.APIClient, error) { return nil, errNoSession }
	})
	if _, err := broken.Token(ctx, aliceDID, holdDID, uploadLXM); err != errNoSession {
		t.Errorf("client failure: err = %v, want the client's error as is", err)
	}
}

// A caller that gives up stops waiting; the mint it started finishes for
// the others and is cached.
func TestTokenCallerCancelDoesNotCancelMint(t *testing.T) {
	f := newFakePDS(t, testclock.New(start))
	gate := make(chan struct{})
	f.set(func() { f.gate = gate })
	c := newCache(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Token(ctx, aliceDID, holdDID, uploadLXM)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v, want context.Canceled", err)
	}
	f.set(func() { f.gate = nil })
	close(gate)
	if _, err := c.Token(context.Background(), aliceDID, holdDID, uploadLXM); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls(); n != 1 {
		t.Errorf("getServiceAuth calls = %d, want 1 (the detached mint served the second caller)", n)
	}
}

func TestNewValidates(t *testing.T) {
	f := newFakePDS(t, testclock.New(start))
	if _, err := New(Options{}); err == nil {
		t.Error("nil Client accepted")
	}
	if _, err := New(Options{Client: f.client, TTL: time.Minute, Margin: time.Minute}); err == nil {
		t.Error("margin equal to TTL accepted")
	}
	if _, err := New(Options{Client: f.client, TTL: 5 * time.Second}); err == nil {
		t.Error("TTL shorter than the default margin accepted")
	}
}

func TestExpiry(t *testing.T) {
	exp := start.Add(time.Hour)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": exp.Unix()}).SignedString([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	if got := Expiry(tok); !got.Equal(exp) {
		t.Errorf("Expiry = %s, want %s", got, exp)
	}
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x"}).SignedString([]byte("k"))
	for _, s := range []string{"", "opaque-token", noExp} {
		if got := Expiry(s); !got.IsZero() {
			t.Errorf("Expiry(%q) = %s, want zero", s, got)
		}
	}
}
