package registry_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/oci"
)

// testPassword is every fake user's password at the fake token endpoint.
const testPassword = "secret"

// fakeAuth is a test Controller with a token endpoint. Tokens are
// "anon" or "user:<did>|<handle>". Pull is open to every token; push and
// delete only to the repository's owner (by DID or handle); an owner of
// something else gets DENIED, as pkg/appview/auth's Controller answers.
type fakeAuth struct {
	realm string
	users map[string]storagetest.User // by handle
}

var _ access.Controller = (*fakeAuth)(nil)

func (a *fakeAuth) Authorized(r *http.Request, want ...access.Access) (*access.Grant, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, &challenge{realm: a.realm}
	}
	g := &access.Grant{}
	if user, ok := strings.CutPrefix(tok, "user:"); ok {
		did, handle, _ := strings.Cut(user, "|")
		g.Subject, g.Handle = syntax.DID(did), handle
	} else if tok != "anon" {
		return nil, &challenge{realm: a.realm}
	}
	for _, w := range want {
		ident, _, _ := strings.Cut(w.Name, "/")
		owner := !g.Anonymous() && (ident == g.Subject.String() || ident == g.Handle)
		switch {
		case w.Type == access.TypeRegistry:
			g.Access = append(g.Access, w)
		case owner:
			// Like a token from `docker push`: the owner's token carries
			// every action on the repository, whatever this request needs.
			for _, action := range []string{access.ActionPull, access.ActionPush, access.ActionDelete} {
				g.Access = append(g.Access, access.Access{Type: w.Type, Name: w.Name, Action: action})
			}
		case w.Action == access.ActionPull:
			g.Access = append(g.Access, w)
		case g.Anonymous():
			return nil, &challenge{realm: a.realm}
		default:
			return nil, oci.ErrorCodeDenied.WithMessage(w.Action + " on " + w.Name + " is reserved to its owner")
		}
	}
	return g, nil
}

// token serves the Docker token endpoint for go-containerregistry.
func (a *fakeAuth) token(w http.ResponseWriter, r *http.Request) {
	tok := "anon"
	if user, pass, ok := r.BasicAuth(); ok {
		u, known := a.users[user]
		if !known || pass != testPassword {
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		tok = "user:" + u.DID.String() + "|" + u.Handle
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300})
}

type challenge struct{ realm string }

func (c *challenge) Error() string { return "authentication required" }
func (c *challenge) SetHeaders(_ *http.Request, w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="registry.test"`, c.realm))
}

// testEnv is a registry over the storagetest fakes, served over HTTP.
type testEnv struct {
	*storagetest.Env
	srv   *httptest.Server
	host  string
	auth  *fakeAuth
	alice storagetest.User
	bob   storagetest.User
}

func newTestEnv(t testing.TB, o storagetest.EnvOptions, adjust ...func(*registry.Options)) *testEnv {
	t.Helper()
	env := &testEnv{Env: storagetest.NewEnv(t, o)}
	env.alice = env.AddUser("alice.test")
	env.bob = env.AddUser("bob.test")
	env.serve(t, env.Store, adjust...)
	return env
}

// newTestEnvOver returns a second AppView (a Store and registry of its
// own) over env's PDS, holds and database.
func newTestEnvOver(t testing.TB, env *testEnv) *testEnv {
	t.Helper()
	other := &testEnv{Env: env.Env, alice: env.alice, bob: env.bob}
	other.serve(t, env.NewStore(t, env.DB, nil))
	return other
}

// serve starts the registry over s with its fake token endpoint.
func (env *testEnv) serve(t testing.TB, s *storage.Store, adjust ...func(*registry.Options)) {
	t.Helper()
	env.auth = &fakeAuth{users: map[string]storagetest.User{"alice.test": env.alice, "bob.test": env.bob}}
	opts := registry.Options{
		Controller: env.auth, Resolver: s, Manifests: s, Tags: s, Referrers: s, Catalog: s, Blobs: s, Uploads: s,
		Logger: storagetest.Logger(t),
	}
	for _, a := range adjust {
		a(&opts)
	}
	reg, err := registry.New(opts)
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	// No ServeMux: it would clean "/../" out of paths before the registry
	// sees them (chi, which cmd/appview uses, does not).
	env.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth/token" {
			env.auth.token(w, r)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(env.srv.Close)
	env.auth.realm = env.srv.URL + "/auth/token"
	env.host = strings.TrimPrefix(env.srv.URL, "http://")
}

// ref parses "alice.test/app:tag" against the test registry.
func (e *testEnv) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(e.host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatalf("parse reference %q: %v", s, err)
	}
	return r
}

// as returns go-containerregistry options authenticating as user.
func as(u storagetest.User) remote.Option {
	return remote.WithAuth(&authn.Basic{Username: u.Handle, Password: testPassword})
}

// tokenFor is the bearer token of user (anonymous for the zero User).
func tokenFor(u storagetest.User) string {
	if u.DID == "" {
		return "anon"
	}
	return "user:" + u.DID.String() + "|" + u.Handle
}

// call sends a raw request to the registry as user.
func (e *testEnv) call(t testing.TB, u storagetest.User, method, path string, body []byte, hdr map[string]string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+tokenFor(u))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// expectError checks an OCI error response's status and first code (for
// HEAD, which has no body, the status only).
// expectError fails unless resp is an OCI error with the status and the
// first entry's code; it returns that entry's message.
func expectError(t *testing.T, resp *http.Response, status int, code string) string {
	t.Helper()
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, raw)
	}
	if resp.Request.Method == http.MethodHead { // no body to check
		return ""
	}
	if err := json.Unmarshal(raw, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("body %q is not an OCI error: %v", raw, err)
	}
	if body.Errors[0].Code != code {
		t.Fatalf("code %s (%s), want %s", body.Errors[0].Code, body.Errors[0].Message, code)
	}
	return body.Errors[0].Message
}

// expectUpstream fails unless resp is the 502 of a failed upstream whose
// message names it ("PDS", "hold").
func expectUpstream(t *testing.T, resp *http.Response, upstream string) {
	t.Helper()
	msg := expectError(t, resp, http.StatusBadGateway, "UNKNOWN")
	if resp.Request.Method != http.MethodHead && !strings.Contains(msg, upstream) {
		t.Fatalf("message %q does not name the %s", msg, upstream)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a failed %s answered without Retry-After", upstream)
	}
}

// expectStatus fails unless resp has the status.
func expectStatus(t testing.TB, resp *http.Response, status int) {
	t.Helper()
	if resp.StatusCode != status {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, raw)
	}
}

// digestOf is the sha256 digest of b.
func digestOf(b []byte) oci.Digest { return oci.FromBytes(oci.SHA256, b) }

// generator yields pseudo-random bytes without holding them, hashing what
// it yields.
type generator struct {
	left int64
	rng  *rand.ChaCha8
	sum  hash.Hash
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.left)]
	_, _ = g.rng.Read(p)
	g.sum.Write(p)
	g.left -= int64(len(p))
	return len(p), nil
}
