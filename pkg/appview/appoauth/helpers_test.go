package appoauth

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/golang-jwt/jwt/v5"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
)

const aliceDID = syntax.DID("did:plc:alice000000000000000000")

func newClock() *testclock.Clock { return testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

// fakePDS is an authorization server and PDS in one, as the reference PDS
// is: a token endpoint that rotates refresh tokens (and refuses a replayed
// one, as the PDS does) and getServiceAuth.
type fakePDS struct {
	t     *testing.T
	clock *testclock.Clock
	srv   *httptest.Server

	mu           sync.Mutex
	access       string
	refresh      string
	refreshes    int
	mints        int
	accessTTL    time.Duration
	rejectAll    bool
	lastAssertOK bool
}

func newFakePDS(t *testing.T, c *testclock.Clock) *fakePDS {
	f := &fakePDS{t: t, clock: c, accessTTL: time.Hour}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", f.token)
	mux.HandleFunc("GET /xrpc/com.atproto.server.getServiceAuth", f.serviceAuth)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.access, f.refresh = f.newTokens()
	return f
}

var tokenSerial int

func (f *fakePDS) newTokens() (access, refresh string) {
	tokenSerial++
	claims := jwt.RegisteredClaims{Subject: aliceDID.String(), ExpiresAt: jwt.NewNumericDate(f.clock.Now().Add(f.accessTTL)),
		ID: fmt.Sprint(tokenSerial)}
	access, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("pds secret"))
	if err != nil {
		f.t.Fatal(err)
	}
	return access, fmt.Sprintf("refresh-%d", tokenSerial)
}

func (f *fakePDS) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := r.ParseForm(); err != nil || r.Header.Get("DPoP") == "" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	f.lastAssertOK = r.PostForm.Get("client_assertion") != "" && r.PostForm.Get("client_assertion_type") == indigooauth.ClientAssertionJWTBearer
	if f.rejectAll || r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != f.refresh {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"refresh token replayed or revoked"}`)
		return
	}
	f.refreshes++
	f.access, f.refresh = f.newTokens()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": f.access, "refresh_token": f.refresh,
		"token_type": "DPoP", "scope": "atproto", "sub": aliceDID.String(), "expires_in": 3600})
}

func (f *fakePDS) serviceAuth(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "DPoP "+f.access || r.Header.Get("DPoP") == "" {
		w.Header().Set("WWW-Authenticate", `DPoP error="invalid_token"`)
		http.Error(w, `{"error":"InvalidToken"}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Query().Get("lxm") == "io.atcr.hold.notGranted" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":"ScopeMissingError","message":"Missing required scope"}`)
		return
	}
	f.mints++
	exp := f.clock.Now().Add(time.Duration(1) * time.Minute)
	if s := r.URL.Query().Get("exp"); s != "" {
		var unix int64
		fmt.Sscan(s, &unix)
		exp = time.Unix(unix, 0)
	}
	claims := jwt.RegisteredClaims{Issuer: aliceDID.String(), Audience: jwt.ClaimStrings{r.URL.Query().Get("aud")},
		ExpiresAt: jwt.NewNumericDate(exp), ID: fmt.Sprint(f.mints)}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("signing key"))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
}

func (f *fakePDS) counts() (refreshes, mints int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes, f.mints
}

// sessionData is a stored session of alice on the fake PDS.
func (f *fakePDS) sessionData(t *testing.T, id string, scopes []string) indigooauth.ClientSessionData {
	t.Helper()
	key, err := atcrypto.GeneratePrivateKeyP256()
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return indigooauth.ClientSessionData{
		AccountDID: aliceDID, SessionID: id, HostURL: f.srv.URL, AuthServerURL: f.srv.URL,
		AuthServerTokenEndpoint: f.srv.URL + "/oauth/token", Scopes: scopes,
		AccessToken: f.access, RefreshToken: f.refresh, DPoPPrivateKeyMultibase: key.Multibase(),
	}
}

type testEnv struct {
	database *db.DB
	clock    *testclock.Clock
	pool     *sql.DB
	pds      *fakePDS
	dir      string
}

func newTestEnv(t *testing.T, engine db.Engine) *testEnv {
	c := newClock()
	d := dbtest.Open(t, engine)
	return &testEnv{clock: c, database: d, pool: d.SQL(), pds: newFakePDS(t, c), dir: t.TempDir()}
}

func (e *testEnv) client(t *testing.T, mutate ...func(*Options)) *Client {
	t.Helper()
	dir := identity.NewMockDirectory()
	dir.Insert(identity.Identity{DID: aliceDID, Handle: "alice.test"})
	opts := Options{BaseURL: "https://atcr.example", Scopes: DefaultScopes, DataDir: e.dir, DB: e.pool,
		HTTPClient: e.pds.srv.Client(), Directory: dir, Now: e.clock.Now}
	for _, m := range mutate {
		m(&opts)
	}
	c, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
