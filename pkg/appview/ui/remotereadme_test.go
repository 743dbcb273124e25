package ui

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/atproto/safehttp"
)

// readmeServer is an https server of README documents, counting requests
// by path. /slow answers when release is closed.
type readmeServer struct {
	srv     *httptest.Server
	release chan struct{}
	mu      sync.Mutex
	hits    map[string]int
}

func newReadmeServer(t *testing.T) *readmeServer {
	t.Helper()
	rs := &readmeServer{release: make(chan struct{}), hits: map[string]int{}}
	mux := http.NewServeMux()
	text := func(ctype, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			_, _ = w.Write([]byte(body))
		}
	}
	mux.HandleFunc("/README.md", text("text/markdown; charset=utf-8",
		"# Remote readme\n\nFrom **afar**. <script>alert(1)</script> [x](javascript:alert(2)) [rel](docs/more.md)\n"))
	mux.HandleFunc("/plain.txt", text("text/plain", "# Plain remote\n"))
	mux.HandleFunc("/page.html", text("text/html", "<h1>Remote HTML</h1>"))
	mux.HandleFunc("/huge.md", text("text/markdown", "# Huge\n\n"+strings.Repeat("a", maxRemoteReadmeBytes)))
	mux.HandleFunc("/latin1.md", text("text/markdown", "# Caf\xe9\n"))
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/README.md", http.StatusFound)
	})
	mux.HandleFunc("/slow.md", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-rs.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/markdown")
		_, _ = w.Write([]byte("# Slow remote\n"))
	})
	rs.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.hits[r.URL.Path]++
		rs.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(rs.srv.Close)
	t.Cleanup(func() {
		select {
		case <-rs.release:
		default:
			close(rs.release)
		}
	})
	return rs
}

func (rs *readmeServer) count(path string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.hits[path]
}

// client is the guarded client allowed to reach the test server on
// loopback, as its own tests do; prod is the production setting.
func (rs *readmeServer) client(prod bool) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(rs.srv.Certificate())
	return safehttp.New(safehttp.Options{AllowPrivateNetworks: !prod, RootCAs: pool, Timeout: 5 * time.Second})
}

// remoteEnv is the index pages with a README client; each repository n
// names srv+path in io.atcr.readme, with a fallback description.
func remoteEnv(t *testing.T, client *http.Client, repos map[string]string) *indexEnv {
	t.Helper()
	var ie *indexEnv
	e := newTestEnvWithOptions(t, func(e *testEnv, o *Options) {
		ie = newIndexEnvOver(t, e, o)
		o.ReadmeClient = client
	})
	ie.testEnv = e
	alice := aliceDID.String()
	n := 100
	for repo, url := range repos {
		n++
		put(t, ie.store,
			record(t, alice, mkey(n), image(repo, n*10, ie.stamp(time.Hour), map[string]any{
				"io.atcr.readme": url, "org.opencontainers.image.description": "Fallback of " + repo,
			})),
			tag(t, alice, repo, "latest", mkey(n), ie.stamp(time.Hour)))
	}
	if err := ie.store.SetHandle(context.Background(), alice, "alice.test"); err != nil {
		t.Fatal(err)
	}
	return ie
}

// The page shows the io.atcr.readme document, sanitized, with links
// relative to it; what is not a README (status, type, size, encoding,
// a redirect to http, http itself) shows the description instead; both
// outcomes are cached.
func TestRemoteReadme(t *testing.T) {
	rs := newReadmeServer(t)
	base := rs.srv.URL
	ie := remoteEnv(t, rs.client(false), map[string]string{
		"good": base + "/README.md", "plain": base + "/plain.txt", "html": base + "/page.html", "missing": base + "/missing.md",
		"huge": base + "/huge.md", "latin": base + "/latin1.md", "downgrade": base + "/to-http",
		"insecure": strings.Replace(base, "https:", "http:", 1) + "/README.md",
	})
	b := ie.browser()
	for range 2 { // the second round comes from the cache
		good := b.get("/r/alice.test/good").body
		for _, want := range []string{`<h1 id="readme-remote-readme">Remote readme</h1>`, `href="` + base + `/docs/more.md"`} {
			if !strings.Contains(good, want) {
				t.Errorf("remote README lacks %q:\n%s", want, good)
			}
		}
		for _, bad := range []string{"<script>alert", "javascript:", "Fallback of good"} {
			if strings.Contains(good, bad) {
				t.Errorf("remote README page has %q", bad)
			}
		}
		if body := b.get("/r/alice.test/plain").body; !strings.Contains(body, "Plain remote") {
			t.Error("a text/plain README is not shown")
		}
		for _, repo := range []string{"html", "missing", "huge", "latin", "downgrade", "insecure"} {
			body := b.get("/r/alice.test/" + repo).body
			if !strings.Contains(body, "Fallback of "+repo) || strings.Contains(body, "Remote readme") || strings.Contains(body, "Remote HTML") {
				t.Errorf("%s: no fallback:\n%s", repo, body)
			}
		}
	}
	for _, path := range []string{"/README.md", "/page.html", "/missing.md", "/huge.md", "/to-http"} {
		if n := rs.count(path); n != 1 {
			t.Errorf("%s fetched %d times, want 1 (cached)", path, n)
		}
	}
}

// The production client refuses the loopback server: the page falls back.
func TestRemoteReadmeLoopbackRefused(t *testing.T) {
	rs := newReadmeServer(t)
	ie := remoteEnv(t, rs.client(true), map[string]string{"good": rs.srv.URL + "/README.md"})
	body := ie.browser().get("/r/alice.test/good").body
	if !strings.Contains(body, "Fallback of good") || strings.Contains(body, "Remote readme") || rs.count("/README.md") != 0 {
		t.Errorf("loopback README fetched (%d requests):\n%s", rs.count("/README.md"), body)
	}
}

// A README server that does not answer holds no page: get returns the
// fallback ("") while the fetch runs on, and the fetched text once it
// ends.
func TestRemoteReadmeSlowServer(t *testing.T) {
	rs := newReadmeServer(t)
	rr := newRemoteReadmes(rs.client(false), slog.Default(), time.Now)
	url := rs.srv.URL + "/slow.md"
	if got := rr.get(t.Context(), url); got != "" {
		t.Fatalf("blocked fetch gave %q", got)
	}
	if got := rr.get(t.Context(), url); got != "" {
		t.Fatalf("second view of a blocked fetch gave %q", got)
	}
	close(rs.release)
	rr.waitIdle()
	if got := rr.get(t.Context(), url); got != "# Slow remote\n" {
		t.Errorf("after the fetch ended: %q", got)
	}
	if n := rs.count("/slow.md"); n != 1 {
		t.Errorf("%d fetches of one URL, want 1 (joined)", n)
	}
}
