package safehttp

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// tlsServer starts an https server on 127.0.0.1 and returns it with a cert
// pool that trusts it, so tests exercise the real TLS path.
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

func hello(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") }

func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestLoopbackRefusedByDefault(t *testing.T) {
	srv, pool := tlsServer(t, http.HandlerFunc(hello))
	c := New(Options{RootCAs: pool})
	_, err := get(t.Context(), c, srv.URL)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
	if !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), "private_hosts") {
		t.Errorf("error does not say why: %v", err)
	}
}

// A host *name* that resolves to loopback is refused by the dialer, after
// resolution: the check cannot be dodged with DNS.
func TestLoopbackNameRefusedAtDial(t *testing.T) {
	srv, pool := tlsServer(t, http.HandlerFunc(hello))
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	c := New(Options{RootCAs: pool})
	_, err := get(t.Context(), c, url)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
	if !strings.Contains(err.Error(), "private_hosts") {
		t.Errorf("error does not name the switch: %v", err)
	}
}

func TestLoopbackAllowedWithAllowPrivateNetworks(t *testing.T) {
	srv, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.UserAgent())
	}))
	c := New(Options{AllowPrivateNetworks: true, RootCAs: pool})
	body, err := get(t.Context(), c, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if body != DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", body, DefaultUserAgent)
	}
}

func TestPlainHTTPNeedsBothSwitches(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		opts Options
		ok   bool
	}{
		{"default", Options{}, false},
		{"private networks only", Options{AllowPrivateNetworks: true}, false},
		{"plain http only", Options{AllowPlainHTTP: true}, false},
		{"both (insecure_local_dev)", Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := get(t.Context(), New(tc.opts), srv.URL)
			if tc.ok {
				if err != nil || body != "hello" {
					t.Fatalf("body %q, err %v", body, err)
				}
				return
			}
			if !errors.Is(err, ErrForbiddenScheme) {
				t.Fatalf("err = %v, want ErrForbiddenScheme", err)
			}
		})
	}
}

func TestOtherSchemesRefused(t *testing.T) {
	c := New(Options{AllowPrivateNetworks: true, AllowPlainHTTP: true})
	for _, url := range []string{"ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/"} {
		if _, err := get(t.Context(), c, url); !errors.Is(err, ErrForbiddenScheme) {
			t.Errorf("%s: err = %v, want ErrForbiddenScheme", url, err)
		}
	}
}

func TestOversizeBodyFails(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2048)
	srv, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			// Flushing first forces chunked encoding: no Content-Length to
			// reject up front, so the body wrapper must catch it.
			w.(http.Flusher).Flush()
		} else {
			w.Header().Set("Content-Length", "2048")
		}
		w.Write(big)
	}))
	c := New(Options{AllowPrivateNetworks: true, RootCAs: pool, MaxResponseBytes: 1024})
	for _, path := range []string{"/declared", "/chunked"} {
		_, err := get(t.Context(), c, srv.URL+path)
		if !errors.Is(err, ErrBodyTooLarge) {
			t.Errorf("%s: err = %v, want ErrBodyTooLarge", path, err)
		}
	}
	// HEAD carries no body, whatever Content-Length declares.
	head, err := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL+"/declared", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(head)
	if err != nil {
		t.Fatalf("HEAD: %v", err)
	}
	resp.Body.Close()
	if resp.ContentLength != 2048 {
		t.Errorf("HEAD Content-Length = %d", resp.ContentLength)
	}
	// Exactly at the limit is fine.
	c = New(Options{AllowPrivateNetworks: true, RootCAs: pool, MaxResponseBytes: 2048})
	if body, err := get(t.Context(), c, srv.URL+"/chunked"); err != nil || len(body) != 2048 {
		t.Errorf("at limit: len %d, err %v", len(body), err)
	}
}

func TestDefaultBodyLimitIsOneMiB(t *testing.T) {
	srv, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		w.Write(make([]byte, DefaultMaxResponseBytes+1))
	}))
	_, err := get(t.Context(), New(Options{AllowPrivateNetworks: true, RootCAs: pool}), srv.URL)
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("err = %v, want ErrBodyTooLarge", err)
	}
}

func TestRedirectToDisallowedSchemeFails(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(hello))
	t.Cleanup(plain.Close)
	srv, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http":
			http.Redirect(w, r, plain.URL, http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		default:
			hello(w, r)
		}
	}))
	c := New(Options{AllowPrivateNetworks: true, RootCAs: pool})
	for _, path := range []string{"/to-http", "/to-file"} {
		_, err := get(t.Context(), c, srv.URL+path)
		if !errors.Is(err, ErrForbiddenScheme) {
			t.Errorf("%s: err = %v, want ErrForbiddenScheme", path, err)
		}
	}
}

func TestRedirectLimit(t *testing.T) {
	srv, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /hop/N redirects to /hop/N-1; /hop/0 answers.
		n := strings.TrimPrefix(r.URL.Path, "/hop/")
		if n == "0" {
			hello(w, r)
			return
		}
		http.Redirect(w, r, "/hop/"+string(n[0]-1), http.StatusFound)
	}))
	c := New(Options{AllowPrivateNetworks: true, RootCAs: pool})
	if body, err := get(t.Context(), c, srv.URL+"/hop/3"); err != nil || body != "hello" {
		t.Fatalf("3 redirects: body %q, err %v", body, err)
	}
	if _, err := get(t.Context(), c, srv.URL+"/hop/4"); !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("4 redirects: err = %v, want ErrTooManyRedirects", err)
	}
	none := New(Options{AllowPrivateNetworks: true, RootCAs: pool, MaxRedirects: -1})
	if _, err := get(t.Context(), none, srv.URL+"/hop/1"); !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("MaxRedirects -1: err = %v, want ErrTooManyRedirects", err)
	}
}

// A redirect from a public host to an internal address is re-checked before
// the next request is built.
func TestRedirectTargetRechecked(t *testing.T) {
	c := New(Options{})
	via := []*http.Request{httptest.NewRequest(http.MethodGet, "https://pds.example.com/", nil)}
	for _, target := range []string{
		"https://10.0.0.1/", "https://[::1]/", "https://169.254.169.254/latest/meta-data/", "https://[::ffff:127.0.0.1]/",
	} {
		next := httptest.NewRequest(http.MethodGet, target, nil)
		if err := c.CheckRedirect(next, via); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("redirect to %s: err = %v, want ErrForbiddenAddress", target, err)
		}
	}
	ok := httptest.NewRequest(http.MethodGet, "https://pds.example.net/", nil)
	if err := c.CheckRedirect(ok, via); err != nil {
		t.Errorf("redirect to a public name: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	c := New(Options{AllowPrivateNetworks: true, RootCAs: pool, Timeout: 50 * time.Millisecond})
	if _, err := get(t.Context(), c, srv.URL); err == nil {
		t.Fatal("expected a timeout error")
	}
}

func TestTransportSettings(t *testing.T) {
	c := New(Options{})
	gt, ok := c.Transport.(*guardedTransport)
	if !ok {
		t.Fatalf("transport is %T", c.Transport)
	}
	if gt.base.Proxy != nil {
		t.Error("proxy from environment must not be used")
	}
	if gt.base.TLSClientConfig.MinVersion < 0x0303 {
		t.Errorf("MinVersion = %x, want TLS 1.2+", gt.base.TLSClientConfig.MinVersion)
	}
	if c.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %v, want %v", c.Timeout, DefaultTimeout)
	}
}
