package auth

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/pdstest"
	"atcr.io/pkg/atproto/safehttp"
)

const (
	baseURL     = "https://registry.test"
	serviceName = "registry.test"
	defaultHold = "did:web:hold.registry.test"
)

var (
	alice = pdstest.Account{DID: "did:plc:aliceaaaaaaaaaaaaaaaaaaa", Handle: "alice.test",
		Password: "alice-main-password", AppPassword: "aaaa-bbbb-cccc-dddd"}
	bob = pdstest.Account{DID: "did:plc:bobbbbbbbbbbbbbbbbbbbbbb", Handle: "bob.test",
		AppPassword: "bbbb-cccc-dddd-eeee"}
)

type env struct {
	clock   *testclock.Clock
	pds     *pdstest.Server
	dir     *identity.MockDirectory
	db      *db.DB
	dataDir string
	svc     *Service
	srv     *httptest.Server
}

// newEnv starts a fake PDS with alice and bob, a mock directory pointing at
// it, a real database and the token service behind a real HTTP server.
func newEnv(t testing.TB, mutate ...func(*Options)) *env {
	t.Helper()
	e := &env{clock: testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), dataDir: t.TempDir()}
	e.pds = pdstest.NewServer(t, e.clock.Now)
	e.dir = identity.NewMockDirectory()
	for _, a := range []pdstest.Account{alice, bob} {
		e.pds.AddAccount(a)
		e.dir.Insert(e.pds.Identity(a))
	}
	var err error
	e.db, err = db.Open(context.Background(), filepath.Join(e.dataDir, "appview.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	e.svc = e.newService(t, mutate...)
	e.srv = httptest.NewServer(e.svc.TokenHandler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) options(mutate ...func(*Options)) Options {
	opts := Options{
		BaseURL:        baseURL,
		TokenTTL:       5 * time.Minute,
		DataDir:        e.dataDir,
		DefaultHoldDID: defaultHold,
		Directory:      e.dir,
		HTTPClient:     safehttp.New(safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}),
		DB:             e.db,
		Logger:         slog.New(slog.DiscardHandler),
		Now:            e.clock.Now,
	}
	for _, m := range mutate {
		m(&opts)
	}
	return opts
}

func (e *env) newService(t testing.TB, mutate ...func(*Options)) *Service {
	t.Helper()
	svc, err := New(e.options(mutate...))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// tokenReply is a decoded /auth/token answer.
type tokenReply struct {
	status int
	header http.Header
	body   tokenResponse
	errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	raw string
}

// getToken runs GET /auth/token with optional Basic credentials (user "" =
// anonymous) and scopes.
func (e *env) getToken(t *testing.T, user, password string, scopes ...string) tokenReply {
	t.Helper()
	return e.getTokenFrom(t, "", user, password, scopes...)
}

// getTokenFrom is getToken from client address addr: the test server's
// peer is loopback, a trusted proxy by default, so X-Forwarded-For names
// the client as Caddy would. addr "" sends no header.
func (e *env) getTokenFrom(t *testing.T, addr, user, password string, scopes ...string) tokenReply {
	t.Helper()
	q := url.Values{"service": {serviceName}}
	for _, s := range scopes {
		q.Add("scope", s)
	}
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/auth/token?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	return e.do(t, req)
}

func (e *env) do(t *testing.T, req *http.Request) tokenReply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	reply := tokenReply{status: resp.StatusCode, header: resp.Header}
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode token reply (HTTP %d): %v", resp.StatusCode, err)
	}
	reply.raw = string(body)
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &reply.body); err != nil {
			t.Fatal(err)
		}
	} else {
		var env struct {
			Errors []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(body, &env)
		reply.errors = env.Errors
	}
	return reply
}

// authorize runs the Controller on a /v2 request carrying token.
func (e *env) authorize(t *testing.T, token string, want ...access.Access) (*access.Grant, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "https://registry.test/v2/", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.svc.Controller().Authorized(req, want...)
}

func repo(name, action string) access.Access {
	return access.Access{Type: access.TypeRepository, Name: name, Action: action}
}
