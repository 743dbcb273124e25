package holdoci

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/hold/layerindex"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/s3"
)

const (
	alice = syntax.DID("did:plc:alice0000000000000000000")
	bob   = syntax.DID("did:plc:bob00000000000000000000")
	eve   = syntax.DID("did:plc:eve00000000000000000000") // not crew
)

// callerHeader carries the caller DID from the test client to testAuth.
const callerHeader = "X-Test-Caller"

// testEnv runs the handlers behind httptest with the real embedded S3 (a
// bucket of its own) and a real PDS.
type testEnv struct {
	svc     *s3.S3Service
	pds     *pds.PDS
	layers  *layerindex.Index
	h       *Handlers
	srv     *httptest.Server
	router  atomic.Pointer[http.Handler]
	owner   *ownerPDS // every test user's PDS
	auth    *fakeAuth
	quota   *fakeQuota
	captain *fakeCaptain
	clock   *testclock.Clock
	opts    Options
}

type envConfig struct {
	pullZone string
	modify   func(*Options)
	// embeddedMover: the gateway's default bucket, with the gateway as
	// Options.Staging (file reads and renames), as cmd/hold runs the
	// embedded server.
	embeddedMover bool
	// owner is the users' PDS (a fresh one when nil).
	owner *ownerPDS
	// clockStart is where the test clock starts (2026-03-01 12:00 UTC when
	// zero). Tests that compare it with S3's modification times (real
	// time) start it from the real clock and move it by hand.
	clockStart time.Time
}

// withEmbeddedMover configures newEnv as cmd/hold runs the embedded server.
func withEmbeddedMover(c *envConfig) { c.embeddedMover = true }

// newEnv builds an environment; alice and bob may write, eve may not.
func newEnv(t testing.TB, cfgs ...func(*envConfig)) *testEnv {
	t.Helper()
	var cfg envConfig
	for _, c := range cfgs {
		c(&cfg)
	}
	ctx := context.Background()
	params := gateway.Params()
	if !cfg.embeddedMover {
		params = gateway.FreshBucket("holdoci")
	}
	params.PullZoneURL = cfg.pullZone
	svc, err := s3.New(ctx, params)
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	if err := svc.EnsureBucket(ctx); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	svc.Logger = quietLogger()
	layers := layerindex.New()
	p, err := pds.Open(ctx, pds.Options{DataDir: t.TempDir(), PublicURL: "https://hold.example.com", Logger: quietLogger(),
		Validate: schema.ValidateRecord, Indexes: []pds.Index{layers}})
	if err != nil {
		t.Fatalf("pds.Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	e := &testEnv{
		svc: svc, pds: p, layers: layers,
		auth:    newFakeAuth(alice, bob),
		quota:   &fakeQuota{layers: layers, limit: -1},
		captain: &fakeCaptain{},
		clock:   testclock.New(cmp.Or(cfg.clockStart, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))),
	}
	if cfg.owner == nil {
		cfg.owner = newOwnerPDS(t)
	}
	e.owner = cfg.owner
	e.opts = Options{
		S3: svc, PDS: p, Layers: layers, DataDir: t.TempDir(),
		SessionTTL: time.Hour, SweepInterval: 10 * time.Millisecond,
		Authorizer: e.auth, Quota: e.quota, Captain: e.captain,
		Identity:  ownerDirectory(cfg.owner),
		PDSClient: safehttp.New(safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}),
		Logger:    quietLogger(), Now: e.clock.Now,
	}
	if cfg.embeddedMover {
		e.opts.Staging = gateway.Server
	}
	if cfg.modify != nil {
		cfg.modify(&e.opts)
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.router.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.open(t)
	return e
}

// open (re)creates the handlers over the same data dir, S3 and PDS.
func (e *testEnv) open(t testing.TB) {
	t.Helper()
	h, err := New(e.opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.h = h
	t.Cleanup(func() { h.Close() })
	r := chi.NewRouter()
	for _, rt := range h.Routes() {
		r.Method(rt.Method, rt.URLPath(), testAuth(rt.Handler))
	}
	r.Method(http.MethodGet, "/xrpc/"+getBlobNSID, testAuth(http.HandlerFunc(h.GetBlob)))
	r.Method(http.MethodHead, "/xrpc/"+getBlobNSID, testAuth(http.HandlerFunc(h.GetBlob)))
	var handler http.Handler = r
	e.router.Store(&handler)
}

// restart closes the handlers and opens new ones, as a hold restart would.
func (e *testEnv) restart(t testing.TB) {
	t.Helper()
	if err := e.h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e.open(t)
}

// testAuth stands in for service auth: the caller DID comes from a header.
// The real token path is tested by serviceauth, the hold contract suite run
// by cmd/hold and the e2e suite.
func testAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if did := r.Header.Get(callerHeader); did != "" {
			r = r.WithContext(serviceauth.WithCallerDID(r.Context(), syntax.DID(did)))
		}
		next.ServeHTTP(w, r)
	})
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// response is one XRPC answer.
type response struct {
	status  int
	header  http.Header
	body    []byte
	errName string
	message string
}

// do sends a request as caller ("" = anonymous).
func (e *testEnv) do(t testing.TB, caller syntax.DID, method, path string, body io.Reader, size int64) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.ContentLength = size
	}
	if caller != "" {
		req.Header.Set(callerHeader, caller.String())
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, body: raw}
	if resp.StatusCode >= 400 && method != http.MethodHead { // HEAD answers carry no body
		var xe struct{ Error, Message string }
		if err := json.Unmarshal(raw, &xe); err != nil {
			t.Fatalf("%s %s: status %d with a non-XRPC error body %q", method, path, resp.StatusCode, raw)
		}
		out.errName, out.message = xe.Error, xe.Message
	}
	return out
}

// post calls a JSON procedure.
func (e *testEnv) post(t testing.TB, caller syntax.DID, nsid string, in any) response {
	t.Helper()
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, caller, http.MethodPost, "/xrpc/"+nsid, bytes.NewReader(raw), int64(len(raw)))
}

// call posts and decodes a 200 answer into out, after checking it against
// the method's lexicon output schema.
func (e *testEnv) call(t testing.TB, caller syntax.DID, nsid string, in, out any) {
	t.Helper()
	resp := e.post(t, caller, nsid, in)
	if resp.status != http.StatusOK {
		t.Fatalf("%s: status %d %s: %s", nsid, resp.status, resp.errName, resp.message)
	}
	decodeOutput(t, nsid, resp.body, out)
}

func decodeOutput(t testing.TB, nsid string, body []byte, out any) {
	t.Helper()
	var generic map[string]any
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatalf("%s: output %q: %v", nsid, body, err)
	}
	if err := schema.ValidateOutput(nsid, generic); err != nil {
		t.Fatalf("%s: output does not match the lexicon: %v", nsid, err)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s: decode output: %v", nsid, err)
		}
	}
}

// wantError checks an error answer's status and XRPC name.
func wantError(t testing.TB, resp response, status int, name string) {
	t.Helper()
	if resp.status != status || resp.errName != name {
		t.Fatalf("got %d %s (%s), want %d %s", resp.status, resp.errName, resp.message, status, name)
	}
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	key[0] = byte(seed)
	key[1] = byte(seed >> 8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}
