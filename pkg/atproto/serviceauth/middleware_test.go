package serviceauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/atproto/xrpc"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// whoami answers with the verified caller, or "anonymous".
func whoami(w http.ResponseWriter, r *http.Request) {
	did, ok := CallerDID(r.Context())
	if !ok {
		io.WriteString(w, "anonymous")
		return
	}
	io.WriteString(w, did.String())
}

func newServer(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/xrpc/io.atcr.hold.initiateUpload", Middleware(v, nil, true)(http.HandlerFunc(whoami)))
	mux.Handle("/xrpc/io.atcr.hold.listTiers", Middleware(v, nil, false)(http.HandlerFunc(whoami)))
	mux.Handle("/not-xrpc", Middleware(v, nil, true)(http.HandlerFunc(whoami)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	status  int
	body    string
	errName string
	wwwAuth string
}

func call(t *testing.T, url, authorization string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, body: string(b), wwwAuth: resp.Header.Get("WWW-Authenticate")}
	if resp.StatusCode >= 400 {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Message == "" {
			t.Fatalf("error body %q is not an XRPC error (%v)", b, err)
		}
		r.errName = e.Error
	}
	return r
}

func TestMiddleware(t *testing.T) {
	priv := newK256(t)
	srv := newServer(t, &Verifier{Audience: holdDID, Dir: mockDir(t, priv)})
	upload := srv.URL + "/xrpc/io.atcr.hold.initiateUpload"
	tiers := srv.URL + "/xrpc/io.atcr.hold.listTiers"
	good := mint(t, priv, aliceDID, holdDID, "io.atcr.hold.initiateUpload", time.Minute)

	tests := []struct {
		name       string
		url, auth  string
		wantStatus int
		wantBody   string // for 200
		wantError  string // for errors
	}{
		{"valid token", upload, "Bearer " + good, 200, aliceDID.String(), ""},
		{"scheme is case-insensitive", upload, "bearer " + good, 200, aliceDID.String(), ""},
		{"missing, mandatory", upload, "", 401, "", "AuthRequired"},
		{"missing, optional", tiers, "", 200, "anonymous", ""},
		{"present but bad on an optional route", tiers, "Bearer garbage", 401, "", "BadJwt"},
		{"token for another method", tiers, "Bearer " + good, 401, "", "BadJwtLexiconMethod"},
		{"basic auth", upload, "Basic YWRtaW46cGFzcw==", 401, "", "BadJwt"},
		{"empty bearer", upload, "Bearer ", 401, "", "BadJwt"},
		{"wrong audience", upload, "Bearer " + mint(t, priv, aliceDID, "did:web:other.test", "io.atcr.hold.initiateUpload", time.Minute), 401, "", "BadJwtAudience"},
		{"other signer", upload, "Bearer " + mint(t, newK256(t), aliceDID, holdDID, "io.atcr.hold.initiateUpload", time.Minute), 401, "", "BadJwtSignature"},
		{"not an xrpc path", srv.URL + "/not-xrpc", "Bearer " + good, 400, "", "InvalidRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := call(t, tc.url, tc.auth)
			if got.status != tc.wantStatus {
				t.Fatalf("status = %d (%s), want %d", got.status, got.body, tc.wantStatus)
			}
			if tc.wantStatus == 200 && got.body != tc.wantBody {
				t.Errorf("body = %q, want %q", got.body, tc.wantBody)
			}
			if got.errName != tc.wantError {
				t.Errorf("error = %q, want %q", got.errName, tc.wantError)
			}
			if got.status == 401 && got.wwwAuth != "Bearer" {
				t.Errorf("WWW-Authenticate = %q", got.wwwAuth)
			}
		})
	}
}

// The public message never carries the internal detail (DIDs resolved,
// addresses, library errors).
func TestMiddlewareHidesDetail(t *testing.T) {
	priv := newK256(t)
	srv := newServer(t, &Verifier{Audience: holdDID, Dir: mockDir(t, priv)})
	tok := mint(t, priv, "did:plc:unknownunknownunknownunk", holdDID, "io.atcr.hold.initiateUpload", time.Minute)
	got := call(t, srv.URL+"/xrpc/io.atcr.hold.initiateUpload", "Bearer "+tok)
	if got.errName != "BadJwtIssuer" {
		t.Fatalf("error = %q", got.errName)
	}
	if strings.Contains(got.body, "unknownunknown") || strings.Contains(got.body, "DID not found") {
		t.Errorf("body leaks detail: %s", got.body)
	}
}

func TestMiddlewareMisconfiguredIs500(t *testing.T) {
	priv := newK256(t)
	srv := newServer(t, &Verifier{Dir: mockDir(t, priv)}) // no Audience
	tok := mint(t, priv, aliceDID, holdDID, "io.atcr.hold.initiateUpload", time.Minute)
	got := call(t, srv.URL+"/xrpc/io.atcr.hold.initiateUpload", "Bearer "+tok)
	if got.status != 500 || got.errName != "InternalServerError" || got.wwwAuth != "" {
		t.Fatalf("got %+v, want a plain 500", got)
	}
}

func TestCustomLXMFunc(t *testing.T) {
	priv := newK256(t)
	v := &Verifier{Audience: holdDID, Dir: mockDir(t, priv)}
	fixed := func(*http.Request) (syntax.NSID, error) { return "io.atcr.hold.uploadPart", nil }
	h := Middleware(v, fixed, true)(http.HandlerFunc(whoami))
	req := httptest.NewRequest(http.MethodPut, "/upload/part/3", nil)
	req.Header.Set("Authorization", "Bearer "+mint(t, priv, aliceDID, holdDID, "io.atcr.hold.uploadPart", time.Minute))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != aliceDID.String() {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}

func TestLXMFromPath(t *testing.T) {
	for path, ok := range map[string]bool{
		"/xrpc/io.atcr.hold.initiateUpload":       true,
		"/xrpc/com.atproto.sync.getBlob":          true,
		"/xrpc/":                                  false,
		"/xrpc/notansid":                          false,
		"/xrpc/io.atcr.hold.initiateUpload/extra": false,
		"/io.atcr.hold.initiateUpload":            false,
	} {
		_, err := LXMFromPath(httptest.NewRequest(http.MethodGet, path, nil))
		if (err == nil) != ok {
			t.Errorf("LXMFromPath(%s) err = %v, want ok=%v", path, err, ok)
		}
	}
}

func TestCallerDIDContext(t *testing.T) {
	if _, ok := CallerDID(t.Context()); ok {
		t.Error("empty context has a caller")
	}
	ctx := WithCallerDID(t.Context(), aliceDID)
	if did, ok := CallerDID(ctx); !ok || did != aliceDID {
		t.Errorf("CallerDID = %q, %v", did, ok)
	}
	// Values stored under any other key (indigo's middleware uses the
	// string "did") are not a verified caller.
	type otherKey string
	foreign := context.WithValue(t.Context(), otherKey("did"), aliceDID)
	if _, ok := CallerDID(foreign); ok {
		t.Error("a foreign context key produced a caller")
	}
}

// failingDir fails every lookup with err.
type failingDir struct {
	identity.Directory
	err error
}

func (d failingDir) LookupDID(context.Context, syntax.DID) (*identity.Identity, error) {
	return nil, d.err
}

// TestMiddlewareIssuerLookupFailures [M5, faults]: a lookup the directory
// refused with an XRPC error (the hold's per-client rate limit) is answered
// with that error and its Retry-After, and an issuer whose identity could
// not be fetched is 502 UpstreamFailure with Retry-After, not a 401 that
// tells the caller its token is bad.
func TestMiddlewareIssuerLookupFailures(t *testing.T) {
	key := newK256(t)
	tok := "Bearer " + mint(t, key, aliceDID, holdDID, "io.atcr.hold.initiateUpload", time.Minute)
	for _, tc := range []struct {
		err    error
		status int
		name   string
	}{
		{fmt.Errorf("gate: %w", xrpc.RateLimitExceeded("too many identity lookups", 3*time.Second)), http.StatusTooManyRequests, "RateLimitExceeded"},
		{fmt.Errorf("%w: plc.directory: 503", identity.ErrDIDResolutionFailed), http.StatusBadGateway, "UpstreamFailure"},
		{identity.ErrDIDNotFound, http.StatusUnauthorized, "BadJwtIssuer"},
		// A did:web whose host the guarded client refuses: the directory
		// reports it not found, on top of indigo's resolution failure.
		{fmt.Errorf("%w: %w: dial: private address", identity.ErrDIDNotFound, identity.ErrDIDResolutionFailed), http.StatusUnauthorized, "BadJwtIssuer"},
	} {
		srv := newServer(t, &Verifier{Audience: holdDID, Dir: failingDir{err: tc.err}})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/xrpc/io.atcr.hold.initiateUpload", nil)
		req.Header.Set("Authorization", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		r := call(t, srv.URL+"/xrpc/io.atcr.hold.initiateUpload", tok)
		if r.status != tc.status || r.errName != tc.name {
			t.Errorf("%v: %d %s, want %d %s", tc.err, r.status, r.errName, tc.status, tc.name)
		}
		if retry := resp.Header.Get("Retry-After"); (tc.status != http.StatusUnauthorized) != (retry != "") {
			t.Errorf("%v: Retry-After %q", tc.err, retry)
		}
	}
}
