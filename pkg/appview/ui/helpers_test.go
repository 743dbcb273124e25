package ui

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/bcrypt"

	"atcr.io/pkg/appview/appoauth"
	"atcr.io/pkg/appview/auth"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
	"atcr.io/pkg/appview/devices"
)

const aliceDID = syntax.DID("did:plc:alice2222222222222222222")

// fakeLogin stands in for the OAuth client: StartLogin remembers the
// binding and return path under a state, FinishLogin checks them as the
// real client does.
type fakeLogin struct {
	mu       sync.Mutex
	requests map[string][2]string // state -> binding, returnTo
	handle   string
}

func (f *fakeLogin) StartLogin(ctx context.Context, identifier, returnTo, binding string) (string, error) {
	if identifier == "nobody.test" {
		return "", appoauth.ErrUnknownAccount
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	state := "state-" + identifier
	f.requests[state] = [2]string{binding, returnTo}
	return "https://pds.example/oauth/authorize?state=" + url.QueryEscape(state), nil
}

func (f *fakeLogin) FinishLogin(ctx context.Context, params url.Values, binding string) (*appoauth.Login, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, ok := f.requests[params.Get("state")]
	if !ok {
		return nil, appoauth.ErrUnknownAuthRequest
	}
	if req[0] != binding {
		return nil, appoauth.ErrOtherBrowser
	}
	delete(f.requests, params.Get("state"))
	return &appoauth.Login{DID: aliceDID, Handle: syntax.Handle(f.handle), ReturnTo: req[1]}, nil
}

type okVerifier struct{}

func (okVerifier) Verify(context.Context, auth.LoginAttempt) (*auth.Identity, error) {
	return nil, errors.New("not used")
}

type testEnv struct {
	database *db.DB
	pool     *sql.DB
	t        testing.TB
	srv      *httptest.Server
	login    *fakeLogin
	devices  *devices.Service
	clock    func() time.Time
}

func newTestEnv(t *testing.T) *testEnv { return newTestEnvWith(t, nil) }

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// newTestEnvWith builds the environment with repository pages fed by repos
// (nil: without them).
func newTestEnvWith(t *testing.T, repos Repositories) *testEnv {
	t.Helper()
	return newTestEnvWithScans(t, repos, nil)
}

// newTestEnvWithScans adds the vulnerability badges fed by scans.
func newTestEnvWithScans(t *testing.T, repos Repositories, scans Scans) *testEnv {
	t.Helper()
	return newTestEnvWithOptions(t, func(_ *testEnv, o *Options) { o.Repositories, o.Scans = repos, scans })
}

// newTestEnvWithOptions lets set change the options (which see the
// environment's database through e.database) before New.
func newTestEnvWithOptions(t testing.TB, set func(*testEnv, *Options)) *testEnv {
	t.Helper()
	return newTestEnvOn(t, db.EngineSQLite, set)
}

// newTestEnvOn is newTestEnvWithOptions on a database of engine (the tests
// of what the database keeps, browser sessions and the export, run on both).
func newTestEnvOn(t testing.TB, engine db.Engine, set func(*testEnv, *Options)) *testEnv {
	t.Helper()
	database := dbtest.Open(t, engine)
	pool := database.SQL()
	var err error
	dir := identity.NewMockDirectory()
	dir.Insert(identity.Identity{DID: aliceDID, Handle: "alice.test"})
	e := &testEnv{database: database, pool: pool, t: t, login: &fakeLogin{requests: map[string][2]string{}, handle: "alice.test"}, clock: time.Now}
	e.devices, err = devices.New(devices.Options{DB: pool, BaseURL: "https://atcr.example", Directory: dir,
		Next: okVerifier{}, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	opts := Options{BaseURL: e.srv.URL, Registry: "atcr.example", DB: pool, Login: e.login, Devices: e.devices}

	if set != nil {
		set(e, &opts)
	}
	ui, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ui.Mount(r)
	return e
}

// browser is a cookie-keeping client that does not follow redirects and
// sends what a browser sends on same-origin requests.
type browser struct {
	e      *testEnv
	client *http.Client
}

func (e *testEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type response struct {
	*http.Response
	body string
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) *response {
	b.e.t.Helper()
	if form == nil {
		return b.send(method, path, nil, "", header)
	}
	return b.send(method, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", header)
}

// send is do with any body (contentType "" when there is none).
func (b *browser) send(method, path string, body io.Reader, contentType string, header map[string]string) *response {
	b.e.t.Helper()
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", b.e.srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &response{Response: resp, body: string(raw)}
}

func (b *browser) get(path string) *response { return b.do(http.MethodGet, path, nil, nil) }

// logIn runs authorize → (PDS) → callback and returns the callback response.
func (b *browser) logIn(returnTo string) *response {
	b.e.t.Helper()
	q := url.Values{"handle": {"alice.test"}}
	if returnTo != "" {
		q.Set("return_to", returnTo)
	}
	start := b.get("/auth/oauth/authorize?" + q.Encode())
	if start.StatusCode != http.StatusFound {
		b.e.t.Fatalf("authorize: %d %s", start.StatusCode, start.body)
	}
	loc, _ := url.Parse(start.Header.Get("Location"))
	return b.get("/auth/oauth/callback?state=" + url.QueryEscape(loc.Query().Get("state")) + "&code=c&iss=https://pds.example")
}

// csrfToken reads the session's token from a page.
func (b *browser) csrfToken() string {
	b.e.t.Helper()
	page := b.get("/settings").body
	const marker = `name="csrf_token" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		b.e.t.Fatalf("no CSRF token on /settings:\n%s", page)
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

func findCookie(resp *response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (e *testEnv) devicesDB(t *testing.T) *sql.DB { return e.pool }
