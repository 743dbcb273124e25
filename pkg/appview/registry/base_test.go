package registry_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage/storagetest"
)

func TestBaseRoute(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, env.srv.URL+"/v2/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := `Bearer realm="` + env.srv.URL + `/auth/token",service="registry.test"`
	if got := resp.Header.Get("WWW-Authenticate"); got != want {
		t.Fatalf("WWW-Authenticate %q, want %q", got, want)
	}
	// The anonymous ping: 401 and the challenge (docker login needs both),
	// with the same {} body as the authorized ping (what curl shows).
	anonymous, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized || string(anonymous) != "{}" ||
		resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("anonymous ping: %d %q, headers %v", resp.StatusCode, anonymous, resp.Header)
	}
	// A rejected token, and any other endpoint, keep the OCI error envelope.
	for _, c := range []struct{ path, auth string }{{"/v2/", "Bearer not-a-token"}, {"/v2/alice.test/app/tags/list", ""}} {
		req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, env.srv.URL+c.path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		other, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Body.Close()
		expectError(t, other, http.StatusUnauthorized, "UNAUTHORIZED")
	}

	resp = env.call(t, env.alice, http.MethodGet, "/v2/", nil, nil)
	expectStatus(t, resp, http.StatusOK)
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "{}" || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Fatalf("body %q, headers %v", body, resp.Header)
	}
	expectStatus(t, env.call(t, storagetest.User{}, http.MethodGet, "/v2", nil, nil), http.StatusOK)
}

func TestRoutingErrors(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	resp := env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/nothing-here", nil, nil)
	expectError(t, resp, http.StatusNotFound, "NAME_UNKNOWN")

	resp = env.call(t, env.alice, http.MethodPost, "/v2/alice.test/app/tags/list", nil, nil)
	if allow := resp.Header.Get("Allow"); allow != "GET" {
		t.Fatalf("Allow %q", allow)
	}
	expectError(t, resp, http.StatusMethodNotAllowed, "UNSUPPORTED")
}

func TestNames(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	invalid := []string{
		"/v2/alice.test/../bob.test/app/tags/list",
		"/v2/alice.test/%2e%2e/app/tags/list",
		"/v2/alice.test/./app/tags/list",
		"/v2/alice.test//app/tags/list",
		"/v2/alice.test/App/tags/list",
		"/v2/alice.test/tags/list", // no repository below the identity
		"/v2//tags/list",           // no name at all
		"/v2/not_a_handle/app/tags/list",
		"/v2/did:key:z6Mkabc/app/tags/list",
		"/v2/alice.test/app%2fx/tags/list",
		"/v2/" + strings.Repeat("a", 250) + ".test/app/tags/list",
	}
	for _, path := range invalid {
		t.Run(path[:min(len(path), 40)], func(t *testing.T) {
			expectError(t, env.call(t, env.alice, http.MethodGet, path, nil, nil), http.StatusBadRequest, "NAME_INVALID")
		})
	}

	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/nobody.test/app/tags/list", nil, nil),
		http.StatusNotFound, "NAME_UNKNOWN")
	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app/tags/list", nil, nil),
		http.StatusNotFound, "NAME_UNKNOWN")
	// A known identity whose repository has no content.
	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/empty/tags/list", nil, nil),
		http.StatusNotFound, "NAME_UNKNOWN")
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	if _, err := registry.New(registry.Options{}); err == nil {
		t.Fatal("New without a Controller succeeded")
	}
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	s := env.Store
	_, err := registry.New(registry.Options{Controller: &fakeAuth{}, Resolver: s, Manifests: s, Tags: s, Referrers: s, Catalog: s, Blobs: s, Uploads: s, BaseURL: "ftp://x"})
	if err == nil {
		t.Fatal("New accepted a non-http BaseURL")
	}
}

func TestMountsOnChi(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	s := env.Store
	reg, err := registry.New(registry.Options{Controller: env.auth, Resolver: s, Manifests: s, Tags: s, Referrers: s, Catalog: s, Blobs: s, Uploads: s})
	if err != nil {
		t.Fatal(err)
	}
	mounted := chi.NewRouter()
	mounted.Mount("/v2", reg)
	handled := chi.NewRouter()
	handled.Handle("/v2", reg)
	handled.Handle("/v2/*", reg)
	env.pushImage(t, env.alice, "alice.test/app", "v1")
	for name, router := range map[string]http.Handler{"Mount": mounted, "Handle": handled} {
		for path, want := range map[string]int{
			"/v2/":                              http.StatusOK,
			"/v2":                               http.StatusOK,
			"/v2/alice.test/app/manifests/v1":   http.StatusOK,
			"/v2/alice.test/../app/tags/list":   http.StatusBadRequest,
			"/v2/alice.test/app/blobs/uploads/": http.StatusMethodNotAllowed, // GET
		} {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer anon")
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Errorf("%s %s: %d, want %d (%s)", name, path, rec.Code, want, rec.Body)
			}
		}
	}
}
