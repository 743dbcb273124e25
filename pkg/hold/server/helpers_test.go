package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/logging"
)

const (
	adminDID    = syntax.DID("did:plc:adminadminadminadminadmi")
	crewDID     = syntax.DID("did:plc:crewcrewcrewcrewcrewcrew")
	strangerDID = syntax.DID("did:plc:strangerstrangerstrangers")
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeAccess is a table-driven Access for routing tests; the real rules
// are crew's and tested there.
type fakeAccess struct {
	public  bool
	readers map[syntax.DID]bool
	admins  map[syntax.DID]bool
}

func (a fakeAccess) CanRead(_ context.Context, caller syntax.DID) error {
	return a.decide(a.public || a.readers[caller], caller)
}

func (a fakeAccess) CanAdmin(_ context.Context, caller syntax.DID) error {
	return a.decide(a.admins[caller], caller)
}

func (a fakeAccess) decide(ok bool, caller syntax.DID) error {
	switch {
	case ok:
		return nil
	case caller == "":
		return xrpc.AuthRequired("auth required")
	default:
		return xrpc.Forbidden("forbidden")
	}
}

// testHold is a router over a real PDS with real service-auth verification.
type testHold struct {
	t    *testing.T
	pds  *pds.PDS
	srv  *httptest.Server
	keys map[syntax.DID]atcrypto.PrivateKey
}

type holdOption func(*Options)

func newTestHold(t *testing.T, access fakeAccess, mods ...holdOption) *testHold {
	t.Helper()
	p, err := pds.Open(t.Context(), pds.Options{DataDir: t.TempDir(), PublicURL: "https://hold.example.com", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	dir := identity.NewMockDirectory()
	h := &testHold{t: t, pds: p, keys: map[syntax.DID]atcrypto.PrivateKey{}}
	for _, did := range []syntax.DID{adminDID, crewDID, strangerDID} {
		key, err := atcrypto.GeneratePrivateKeyK256()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := key.PublicKey()
		dir.Insert(identity.Identity{DID: did, Handle: syntax.HandleInvalid,
			Keys: map[string]identity.VerificationMethod{"atproto": {Type: "Multikey", PublicKeyMultibase: pub.Multibase()}}})
		h.keys[did] = key
	}
	opts := Options{
		Version:    "v1.2.3",
		Middleware: []func(http.Handler) http.Handler{logging.Middleware(quietLogger())},
		Routes:     pds.NewHandlers(p).Routes(),
		Verifier:   &serviceauth.Verifier{Audience: p.DID(), ServiceID: "atcr_hold", Dir: dir},
		Access:     access,
	}
	for _, m := range mods {
		m(&opts)
	}
	handler, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(handler)
	t.Cleanup(h.srv.Close)
	return h
}

// token mints a service-auth token from did for lxm, addressed to the hold.
func (h *testHold) token(did syntax.DID, lxm string) string {
	return h.tokenFor(did, h.pds.DID(), lxm, time.Minute)
}

func (h *testHold) tokenFor(did, aud syntax.DID, lxm string, ttl time.Duration) string {
	h.t.Helper()
	tok, err := serviceauth.Mint(h.keys[did], did, aud, lxm, ttl)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// errorName is the XRPC error name of a JSON error body ("" otherwise).
func (r response) errorName() string {
	var body struct{ Error string }
	_ = json.Unmarshal(r.body, &body)
	return body.Error
}

// do sends a request; token "" sends none.
func (h *testHold) do(method, path, token, body string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}
