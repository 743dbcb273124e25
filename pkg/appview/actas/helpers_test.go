package actas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/golang-jwt/jwt/v5"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/appoauth"
	"atcr.io/pkg/appview/apppassword"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/pdstest"
	"atcr.io/pkg/atproto/safehttp"
)

const (
	holdDID   = syntax.DID("did:web:hold.example")
	uploadLXM = syntax.NSID("io.atcr.hold.initiateUpload")
	// notGranted is a method the fake OAuth grant lacks: its PDS answers 403.
	notGranted = syntax.NSID("io.atcr.hold.notGranted")
	// refused is a method the fake OAuth PDS refuses with 400, as it would
	// a malformed request: not a matter of the grant.
	refused = syntax.NSID("io.atcr.hold.refused")
)

var alice = pdstest.Account{
	DID:         "did:plc:alice000000000000000000",
	Handle:      "alice.test",
	Password:    "alice-main-password",
	AppPassword: "aaaa-bbbb-cccc-dddd",
}

// env is a Chooser over real sources: an app-password provider on the fake
// PDS and the AppView's OAuth client, which holds no OAuth session (so it
// answers appoauth.ErrNoOAuthSession, as for a user who never signed in
// through the browser). Tests that need an OAuth session swap in oauthPDS.
type env struct {
	clock        *testclock.Clock
	pds          *pdstest.Server
	appPasswords *apppassword.Provider
	oauth        *appoauth.Client
	c            *Chooser
}

func newEnv(t *testing.T, mutate ...func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{clock: testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	e.pds = pdstest.NewServer(t, e.clock.Now)
	e.pds.AddAccount(alice)
	database, err := db.Open(ctx, filepath.Join(t.TempDir(), "appview.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { database.Close() })
	httpClient := safehttp.New(safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true})
	e.appPasswords, err = apppassword.New(apppassword.Options{DB: database, HTTPClient: httpClient, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.oauth, err = appoauth.New(ctx, appoauth.Options{BaseURL: "https://atcr.example", Scopes: appoauth.DefaultScopes,
		DataDir: t.TempDir(), DB: database.SQL(), HTTPClient: httpClient, Directory: identity.NewMockDirectory(), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.c = e.chooser(t, mutate...)
	return e
}

// chooser builds another Chooser over e's sources.
func (e *env) chooser(t *testing.T, mutate ...func(*Options)) *Chooser {
	t.Helper()
	return newChooser(t, Options{OAuth: e.oauth.APIClient, AppPassword: e.appPasswords.Client, Now: e.clock.Now}, mutate...)
}

// newChooser builds a Chooser from opts after mutate.
func newChooser(t *testing.T, opts Options, mutate ...func(*Options)) *Chooser {
	t.Helper()
	for _, m := range mutate {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// login gives alice an app-password session.
func (e *env) login(t *testing.T) {
	t.Helper()
	if err := e.appPasswords.Login(context.Background(), alice.DID, e.pds.URL(), alice.AppPassword); err != nil {
		t.Fatalf("login: %v", err)
	}
}

// appPasswordMints counts the service tokens minted through app-password
// sessions.
func (e *env) appPasswordMints() int { return e.pds.Calls("com.atproto.server.getServiceAuth") }

func decodeServiceToken(t *testing.T, tok string) (iss, aud, lxm string, exp time.Time) {
	t.Helper()
	var c struct {
		jwt.RegisteredClaims
		LXM string `json:"lxm"`
	}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatalf("service token: %v", err)
	}
	return c.Issuer, c.Audience[0], c.LXM, c.ExpiresAt.Time
}

// oauthPDS stands in for the OAuth source: alice's PDS as reached through
// her OAuth session. Its getServiceAuth mints for the session's access
// token and answers 403 for notGranted, as the reference PDS does for a
// method the grant has no rpc scope for. (The OAuth session itself — DPoP,
// refresh, storage — is pkg/appview/appoauth's and tested there.)
type oauthPDS struct {
	clock *testclock.Clock
	srv   *httptest.Server

	mu      sync.Mutex
	session bool  // alice has an OAuth session
	failure error // the source fails with this (a PDS outage)
	mints   int
	// stale: the source answers "no session" except to a fresh lookup,
	// as appoauth does for a while after it found none.
	stale bool
}

const oauthAccessToken = "oauth-access-token"

func newOAuthPDS(t *testing.T, clock *testclock.Clock) *oauthPDS {
	f := &oauthPDS{clock: clock, session: true}
	f.srv = httptest.NewServer(http.HandlerFunc(f.getServiceAuth))
	t.Cleanup(f.srv.Close)
	return f
}

// source is the Options.OAuth of a Chooser.
func (f *oauthPDS) source(ctx context.Context, did syntax.DID) (*atclient.APIClient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.failure != nil:
		return nil, f.failure
	case !f.session || did != alice.DID || f.stale && !appoauth.IsFreshLookup(ctx):
		return nil, fmt.Errorf("%w: %s", appoauth.ErrNoOAuthSession, did)
	}
	c := atclient.NewAPIClient(f.srv.URL)
	c.Client = f.srv.Client()
	c.Headers.Set("Authorization", "Bearer "+oauthAccessToken)
	c.AccountDID = &did
	return c, nil
}

func (f *oauthPDS) set(session bool, failure error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.session, f.failure = session, failure
}

func (f *oauthPDS) minted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mints
}

func (f *oauthPDS) getServiceAuth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	switch {
	case r.URL.Path != "/xrpc/com.atproto.server.getServiceAuth":
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"MethodNotImplemented"}`)
		return
	case r.Header.Get("Authorization") != "Bearer "+oauthAccessToken:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"InvalidToken"}`)
		return
	case q.Get("lxm") == notGranted.String():
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":"ScopeMissingError","message":"Missing required scope"}`)
		return
	case q.Get("lxm") == refused.String():
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"InvalidRequest","message":"refused"}`)
		return
	}
	exp := f.clock.Now().Add(time.Minute)
	if unix, err := strconv.ParseInt(q.Get("exp"), 10, 64); err == nil {
		exp = time.Unix(unix, 0)
	}
	f.mu.Lock()
	f.mints++
	claims := jwt.RegisteredClaims{Issuer: alice.DID.String(), Audience: jwt.ClaimStrings{q.Get("aud")},
		ExpiresAt: jwt.NewNumericDate(exp), ID: "oauth-" + strconv.Itoa(f.mints)}
	f.mu.Unlock()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("oauth pds key"))
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
}

// errPDSDown is an OAuth source failure that is not "no session".
var errPDSDown = errors.New("refresh OAuth session: authorization server unreachable")
