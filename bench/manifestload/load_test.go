package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"atcr.io/pkg/oci"
)

var manifest = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}`)

// fakeRegistry serves one manifest by digest behind Docker token auth (when
// token is set) and counts what it saw.
type fakeRegistry struct {
	token        string // "" = anonymous registry
	user, pass   string
	body         []byte
	failAfter    int64 // answer 500 from this manifest GET on (0 = never)
	tokenCalls   atomic.Int64
	manifestGets atomic.Int64
	badAccept    atomic.Int64
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/auth/token" {
		f.tokenCalls.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.pass {
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("scope") != "repository:alice.test/app:pull" || r.URL.Query().Get("service") != "registry.test" {
			http.Error(w, "bad scope or service "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, f.token)
		return
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/auth/token",service="registry.test",scope="repository:alice.test/app:pull"`, r.Host))
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
		return
	}
	want := "/v2/alice.test/app/manifests/" + oci.FromBytes(oci.SHA256, manifest).String()
	if r.URL.Path != want {
		http.NotFound(w, r)
		return
	}
	n := f.manifestGets.Add(1)
	if len(r.Header.Values("Accept")) != len(acceptManifests) {
		f.badAccept.Add(1)
	}
	if f.failAfter > 0 && n >= f.failAfter {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	_, _ = w.Write(f.body)
}

func newFake(t *testing.T, f *fakeRegistry) (*httptest.Server, Config) {
	t.Helper()
	if f.body == nil {
		f.body = manifest
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv, Config{
		Registry:    srv.URL,
		Repo:        "alice.test/app",
		Digest:      oci.FromBytes(oci.SHA256, manifest),
		Concurrency: 4,
		Duration:    300 * time.Millisecond,
		Warmup:      50 * time.Millisecond,
		Username:    "alice.test",
		Password:    "app-pass",
	}
}

func TestRunWithTokenAuth(t *testing.T) {
	f := &fakeRegistry{token: "tok-123", user: "alice.test", pass: "app-pass"}
	_, cfg := newFake(t, f)
	res, err := Run(context.Background(), NewClient(cfg.Concurrency), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || int64(res.Requests) > f.manifestGets.Load() {
		t.Errorf("counted %d requests, server saw %d manifest GETs", res.Requests, f.manifestGets.Load())
	}
	if f.tokenCalls.Load() != 1 {
		t.Errorf("token endpoint called %d times, want once", f.tokenCalls.Load())
	}
	if f.badAccept.Load() != 0 {
		t.Errorf("%d requests lacked the manifest Accept headers", f.badAccept.Load())
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 || res.Concurrency != 4 {
		t.Errorf("latencies p50 %v p99 %v max %v c %d", res.P50, res.P99, res.Max, res.Concurrency)
	}
	if !strings.HasPrefix(res.String(), fmt.Sprintf("requests=%d duration=0.30s rps=", res.Requests)) {
		t.Errorf("String() = %q", res.String())
	}
}

func TestRunAnonymous(t *testing.T) {
	f := &fakeRegistry{}
	_, cfg := newFake(t, f)
	cfg.Username, cfg.Password = "", ""
	if _, err := Run(context.Background(), NewClient(cfg.Concurrency), cfg); err != nil {
		t.Fatal(err)
	}
	if f.tokenCalls.Load() != 0 {
		t.Errorf("token endpoint called %d times for an anonymous registry", f.tokenCalls.Load())
	}
}

func TestRunFailures(t *testing.T) {
	for name, tc := range map[string]struct {
		f      *fakeRegistry
		mutate func(*Config)
		want   string
	}{
		"server error mid-run": {&fakeRegistry{failAfter: 50}, nil, "status 500"},
		"wrong body":           {&fakeRegistry{body: []byte(`{"other":true}`)}, nil, "body has digest"},
		"wrong password":       {&fakeRegistry{token: "t", user: "alice.test", pass: "right"}, nil, "answered 401"},
		"unknown manifest": {&fakeRegistry{}, func(c *Config) {
			c.Digest = oci.FromBytes(oci.SHA256, []byte("nope"))
		}, "status 404"},
	} {
		t.Run(name, func(t *testing.T) {
			_, cfg := newFake(t, tc.f)
			if tc.mutate != nil {
				tc.mutate(&cfg)
			}
			_, err := Run(context.Background(), NewClient(cfg.Concurrency), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestRunWithBasicAuth(t *testing.T) {
	var authorized atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice.test" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		authorized.Add(1)
		_, _ = w.Write(manifest)
	}))
	defer srv.Close()
	cfg := Config{Registry: srv.URL, Repo: "a/b", Digest: oci.FromBytes(oci.SHA256, manifest), Concurrency: 2,
		Duration: 100 * time.Millisecond, Username: "alice.test", Password: "pw"}
	res, err := Run(context.Background(), NewClient(2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || authorized.Load() < int64(res.Requests) {
		t.Errorf("requests %d, authorized %d", res.Requests, authorized.Load())
	}
	cfg.Username = ""
	if _, err := Run(context.Background(), NewClient(2), cfg); err == nil {
		t.Error("a Basic challenge without credentials did not fail")
	}
}

func TestRedirectIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	cfg := Config{Registry: srv.URL, Repo: "a/b", Digest: oci.FromBytes(oci.SHA256, manifest), Concurrency: 1, Duration: 50 * time.Millisecond}
	if _, err := Run(context.Background(), NewClient(1), cfg); err == nil || !strings.Contains(err.Error(), "status 307") {
		t.Fatalf("err = %v, want status 307", err)
	}
}

func TestRunCommand(t *testing.T) {
	f := &fakeRegistry{token: "tok", user: "alice.test", pass: "pw"}
	srv, cfg := newFake(t, f)
	env := map[string]string{"MANIFESTLOAD_USERNAME": "alice.test", "MANIFESTLOAD_PASSWORD": "pw"}
	var out, errOut bytes.Buffer
	args := []string{"-registry", srv.URL + "/", "-repo", "alice.test/app", "-digest", cfg.Digest.String(), "-c", "2", "-d", "100ms", "-warmup", "0s"}
	if code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut); code != 0 {
		t.Fatalf("run = %d: %s", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "requests=") || !strings.HasSuffix(out.String(), " c=2\n") {
		t.Errorf("output = %q", out.String())
	}
	for _, bad := range [][]string{
		{"-registry", srv.URL, "-repo", "alice.test/app", "-digest", "sha256:xyz"},
		{"-registry", srv.URL, "-digest", cfg.Digest.String()},
		{"-registry", srv.URL, "-repo", "a/b", "-digest", cfg.Digest.String(), "-c", "0"},
	} {
		if code := run(context.Background(), bad, func(string) string { return "" }, &out, &errOut); code != 2 {
			t.Errorf("run(%v) = %d, want 2", bad, code)
		}
	}
	env["MANIFESTLOAD_PASSWORD"] = "wrong"
	if code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut); code != 1 {
		t.Errorf("wrong password: run = %d, want 1", code)
	}
}

func TestParseChallenge(t *testing.T) {
	scheme, p := parseChallenge(`Bearer realm="https://atcr.internal/auth/token",service="atcr.internal",scope="repository:a/b:pull,push", error="insufficient_scope"`)
	if scheme != "Bearer" || p["realm"] != "https://atcr.internal/auth/token" || p["service"] != "atcr.internal" ||
		p["scope"] != "repository:a/b:pull,push" || p["error"] != "insufficient_scope" {
		t.Errorf("got %q %v", scheme, p)
	}
	scheme, p = parseChallenge(`Basic realm=registry, charset="UTF-8"`)
	if scheme != "Basic" || p["realm"] != "registry" || p["charset"] != "UTF-8" {
		t.Errorf("got %q %v", scheme, p)
	}
	_, p = parseChallenge(`Bearer realm="a\"b",service="unterminated`)
	if p["realm"] != `a"b` || p["service"] != "unterminated" {
		t.Errorf("escaped/unterminated: %v", p)
	}
	if scheme, p := parseChallenge(""); scheme != "" || len(p) != 0 {
		t.Errorf("empty header: %q %v", scheme, p)
	}
}

func TestReadAllBounded(t *testing.T) {
	big := bytes.Repeat([]byte("x"), maxManifest+10)
	if _, err := readAll(bytes.NewReader(big), nil); err == nil {
		t.Error("readAll accepted a body over maxManifest")
	}
	got, err := readAll(bytes.NewReader(manifest), make([]byte, 0, 3))
	if err != nil || !bytes.Equal(got, manifest) {
		t.Errorf("readAll = %q, %v", got, err)
	}
}
