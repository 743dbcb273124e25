package registration

import (
	"atcr.io/internal/syncbuf"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

const (
	owner   = syntax.DID("did:plc:owner00000000000000000000")
	other   = syntax.DID("did:plc:other00000000000000000000")
	holdDID = syntax.DID("did:web:hold.example.com")
	holdURL = "https://hold.example.com"
)

// waitFor polls the log until it contains want (no timing is asserted:
// the deadline only ends a hung test).
func waitFor(t *testing.T, s *syncbuf.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never contained %q:\n%s", want, s.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func directory(pdsURL string) identity.Directory {
	dir := identity.NewMockDirectory()
	for _, did := range []syntax.DID{owner, other} {
		dir.Insert(identity.Identity{DID: did, Handle: syntax.Handle(strings.TrimPrefix(did.String(), "did:plc:")[:5] + ".example.com"),
			Services: map[string]identity.ServiceEndpoint{"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: pdsURL}}})
	}
	return dir
}

func newRegistrar(t *testing.T, f *fakePDS, dataDir string, o syntax.DID) (*Registrar, *syncbuf.Buffer) {
	t.Helper()
	sink := &syncbuf.Buffer{}
	r, err := New(Options{PublicURL: holdURL, HoldDID: holdDID, Owner: o, Public: true, DataDir: dataDir,
		HTTPClient: f.client(), Directory: directory("https://" + fakeHost), RemindEvery: time.Hour,
		Logger: slog.New(slog.NewTextHandler(sink, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return r, sink
}

// run starts Run and returns a function that stops it and waits.
func run(r *Registrar) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// serve answers one request through the registrar's routes.
func serve(t *testing.T, r *Registrar, target string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	for _, rt := range r.Routes() {
		mux.Handle(rt.Method+" "+rt.URLPath(), rt.Handler)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// approve plays the owner's browser coming back from the PDS.
func approve(t *testing.T, r *Registrar, state string) *httptest.ResponseRecorder {
	t.Helper()
	q := url.Values{"state": {state}, "iss": {"https://" + fakeHost}, "code": {"the-code"}}
	return serve(t, r, CallbackPath+"?"+q.Encode())
}

func TestRegistration(t *testing.T) {
	f := newFakePDS(t, owner)
	dataDir := t.TempDir()
	r, log := newRegistrar(t, f, dataDir, owner)
	stop := run(r)
	defer stop()

	waitFor(t, log, "msg=\"Visit this URL to authorize: https://"+fakeHost+"/oauth/authorize?")
	par := f.lastPAR()
	if par["scope"] != "atproto repo:io.atcr.hold repo:io.atcr.hold.crew" || par["login_hint"] != "owner.example.com" ||
		par["client_id"] != holdURL+MetadataPath || par["redirect_uri"] != holdURL+CallbackPath {
		t.Fatalf("pushed authorization request = %v", par)
	}
	if !strings.Contains(log.String(), url.QueryEscape("urn:ietf:params:oauth:request_uri:req-1")) {
		t.Errorf("the logged URL does not carry the request_uri:\n%s", log)
	}
	if r.Registered() != nil {
		t.Fatal("registered before the owner approved")
	}

	resp := approve(t, r, par["state"])
	if resp.Code != http.StatusOK || !strings.Contains(resp.Body.String(), "Hold registered") {
		t.Fatalf("callback: %d %s", resp.Code, resp.Body)
	}
	holdRec, crewRec := f.records["io.atcr.hold/hold.example.com"], f.records["io.atcr.hold.crew/hold.example.com"]
	if len(f.records) != 2 || holdRec == nil || crewRec == nil {
		t.Fatalf("records written: %v", f.records)
	}
	if holdRec["holdDid"] != holdDID.String() || holdRec["endpoint"] != holdURL || holdRec["owner"] != owner.String() ||
		holdRec["public"] != true || holdRec["$type"] != "io.atcr.hold" {
		t.Errorf("io.atcr.hold record = %v", holdRec)
	}
	if crewRec["member"] != owner.String() || crewRec["role"] != "owner" ||
		crewRec["hold"] != "at://"+owner.String()+"/io.atcr.hold/hold.example.com" {
		t.Errorf("io.atcr.hold.crew record = %v", crewRec)
	}
	stop() // Run has returned on its own; this only waits
	text := log.String()
	if n := strings.Count(text, "created record in the owner's repo"); n != 2 {
		t.Errorf("%d created lines, want 2:\n%s", n, text)
	}
	if !strings.Contains(text, "level=INFO msg=\"Hold registered with its owner's PDS\"") {
		t.Errorf("no registered line:\n%s", text)
	}
	st := r.Registered()
	if st == nil || st.Owner != owner.String() || len(st.Records) != 2 {
		t.Fatalf("state = %+v", st)
	}

	// A restart: the saved state answers, no new authorization request.
	pars := len(f.pars)
	again, log2 := newRegistrar(t, f, dataDir, owner)
	if again.Registered() == nil {
		t.Fatal("the restarted registrar forgot the registration")
	}
	run(again)()
	if !strings.Contains(log2.String(), "Hold already registered") || strings.Contains(log2.String(), "Visit this URL") {
		t.Errorf("restart log:\n%s", log2)
	}
	if len(f.pars) != pars {
		t.Error("the restarted registrar sent an authorization request")
	}

	// Another owner in the same data directory is asked again.
	changed, log3 := newRegistrar(t, f, dataDir, other)
	if changed.Registered() != nil {
		t.Fatal("a registration with another owner counted")
	}
	stopChanged := run(changed)
	waitFor(t, log3, "Visit this URL to authorize: ")
	stopChanged()
}

// Registering twice (a wiped data directory) overwrites the same two
// records instead of adding more.
func TestRegistrationIsIdempotent(t *testing.T) {
	f := newFakePDS(t, owner)
	for i := range 2 {
		r, log := newRegistrar(t, f, t.TempDir(), owner)
		stop := run(r)
		waitFor(t, log, "Visit this URL to authorize: ")
		if resp := approve(t, r, f.lastPAR()["state"]); resp.Code != http.StatusOK {
			t.Fatalf("run %d: callback %d %s", i, resp.Code, resp.Body)
		}
		stop()
	}
	if len(f.records) != 2 || f.puts != 4 {
		t.Fatalf("after two registrations: %d records from %d writes, want 2 from 4", len(f.records), f.puts)
	}
}

func TestCallbackFailures(t *testing.T) {
	f := newFakePDS(t, owner)
	r, log := newRegistrar(t, f, t.TempDir(), owner)
	stop := run(r)
	defer stop()
	waitFor(t, log, "Visit this URL to authorize: ")
	state := f.lastPAR()["state"]

	for name, q := range map[string]url.Values{
		"denied":        {"state": {state}, "error": {"access_denied"}},
		"unknown state": {"state": {"forged"}, "iss": {"https://" + fakeHost}, "code": {"the-code"}},
		"no state":      {"code": {"the-code"}},
	} {
		resp := serve(t, r, CallbackPath+"?"+q.Encode())
		if resp.Code != http.StatusBadRequest || !strings.Contains(resp.Body.String(), "Registration failed") {
			t.Errorf("%s: %d %s", name, resp.Code, resp.Body)
		}
	}
	// Someone else's account approving is refused (indigo: the token's
	// subject is not the account the request was made for).
	f.subject = other.String()
	if resp := approve(t, r, state); resp.Code == http.StatusOK {
		t.Errorf("another account's approval: %d %s", resp.Code, resp.Body)
	}
	if len(f.records) != 0 || r.Registered() != nil {
		t.Errorf("a failed callback registered: records %v", f.records)
	}
	if _, err := os.Stat(filepath.Join(r.opts.DataDir, stateFile)); !os.IsNotExist(err) {
		t.Errorf("state file after failures: %v", err)
	}
}

func TestClientDocuments(t *testing.T) {
	f := newFakePDS(t, owner)
	dataDir := t.TempDir()
	r, _ := newRegistrar(t, f, dataDir, owner)
	resp := serve(t, r, MetadataPath)
	body := resp.Body.String()
	for _, want := range []string{`"client_id":"` + holdURL + MetadataPath + `"`, `"jwks_uri":"` + holdURL + JWKSPath + `"`,
		`"token_endpoint_auth_method":"private_key_jwt"`, `"scope":"atproto repo:io.atcr.hold repo:io.atcr.hold.crew"`,
		`"redirect_uris":["` + holdURL + CallbackPath + `"]`} {
		if !strings.Contains(body, want) {
			t.Errorf("metadata lacks %s: %s", want, body)
		}
	}
	jwks := serve(t, r, JWKSPath).Body.String()
	if !strings.Contains(jwks, `"kty":"EC"`) || strings.Contains(jwks, `"d":`) {
		t.Errorf("JWKS = %s (want the public key only)", jwks)
	}
	// The key survives a restart: the PDS caches it.
	again, _ := newRegistrar(t, f, dataDir, owner)
	if got := serve(t, again, JWKSPath).Body.String(); got != jwks {
		t.Errorf("JWKS changed across restarts:\n%s\n%s", jwks, got)
	}
}

func TestOptionsRefused(t *testing.T) {
	f := newFakePDS(t, owner)
	for _, u := range []string{"http://127.0.0.1:8080", "https://hold.example.com/sub", ""} {
		_, err := New(Options{PublicURL: u, HoldDID: holdDID, Owner: owner, DataDir: t.TempDir(),
			HTTPClient: f.client(), Directory: directory("https://" + fakeHost), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil {
			t.Errorf("public URL %q accepted", u)
		}
	}
}
