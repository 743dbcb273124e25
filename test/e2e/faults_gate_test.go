//go:build e2e

package e2e

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fault tests (faults_*_test.go) put a gate between a server and
// whoever calls it — the user's PDS, the PLC directory, the hold, the S3
// server — and switch it between the ways an upstream fails. Each gate
// keeps its address for the whole test, so a caller that cached the
// address (a DID document, a presigned URL, Caddy's upstream) finds the
// fault exactly where the service used to be.

// faultMode is how a gate treats a request it is told to fault.
type faultMode int

const (
	// gateOpen forwards everything.
	gateOpen faultMode = iota
	// gateRefused has no listener: every connection is refused, and the
	// connections open when the gate went down are closed.
	gateRefused
	// gateDropped reads the request and closes the connection without an
	// answer, as a host that goes away mid-request.
	gateDropped
	// gateBlackholed reads the request and never answers: the caller's
	// own timeout is all that ends the exchange.
	gateBlackholed
)

func (m faultMode) String() string {
	return [...]string{"open", "refused", "dropped", "blackholed"}[m]
}

// faultGate is an HTTP (or HTTPS, with httptest's certificate) proxy in
// front of one upstream handler.
type faultGate struct {
	name     string
	addr     string // host:port, fixed for the gate's life
	tls      bool
	upstream http.Handler

	mu      sync.Mutex
	srv     *httptest.Server // nil while refused
	mode    faultMode
	only    map[string]bool // XRPC methods dropped/blackholed; nil: every request
	release chan struct{}   // closed when a blackhole should let go
	faulted atomic.Int64    // requests dropped or blackholed so far
}

// newFaultGate starts an open gate at addr ("" picks a free loopback
// port) forwarding to upstream, and stops it when the test ends.
func newFaultGate(t *testing.T, name, addr string, useTLS bool, upstream http.Handler) *faultGate {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	g := &faultGate{name: name, addr: addr, tls: useTLS, upstream: upstream, release: make(chan struct{})}
	g.listen(t)
	t.Cleanup(func() {
		g.mu.Lock()
		srv := g.srv
		g.srv = nil
		close(g.release)
		g.mu.Unlock()
		if srv != nil {
			srv.Close()
		}
	})
	return g
}

// URL is the gate's base URL.
func (g *faultGate) URL() string {
	if g.tls {
		return "https://" + g.addr
	}
	return "http://" + g.addr
}

// listen (re)starts the server on the gate's address. A port freed a
// moment ago can be bound again at once (Go sets SO_REUSEADDR); the
// retries cover a late close.
func (g *faultGate) listen(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", g.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("gate %s: listen on %s: %v", g.name, g.addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(g.serve))
	srv.Listener.Close()
	srv.Listener = ln
	if g.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	g.addr = ln.Addr().String()
	g.srv = srv
}

// set switches the gate to mode; for gateDropped and gateBlackholed, nsids
// limits the fault to those XRPC methods (none: every request). A
// blackhole in force lets its callers go (with a closed connection).
func (g *faultGate) set(t *testing.T, mode faultMode, nsids ...string) {
	t.Helper()
	g.mu.Lock()
	close(g.release)
	g.release = make(chan struct{})
	g.mode = mode
	g.only = nil
	if len(nsids) > 0 {
		g.only = map[string]bool{}
		for _, n := range nsids {
			g.only[n] = true
		}
	}
	srv := g.srv
	if mode == gateRefused {
		g.srv = nil
	}
	g.mu.Unlock()
	switch {
	case mode == gateRefused && srv != nil:
		srv.Close() // the listener and every open connection
	case mode != gateRefused && srv == nil:
		g.mu.Lock()
		g.listen(t)
		g.mu.Unlock()
	}
	t.Logf("gate %s (%s): %s %s", g.name, g.addr, mode, strings.Join(nsids, " "))
}

// faults is how many requests the gate has dropped or blackholed: a test
// checks it to know its fault was in the path at all.
func (g *faultGate) faults() int64 { return g.faulted.Load() }

func (g *faultGate) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	mode, release := g.mode, g.release
	hit := g.only == nil || g.only[strings.TrimPrefix(r.URL.Path, "/xrpc/")]
	g.mu.Unlock()
	if mode == gateOpen || !hit {
		g.upstream.ServeHTTP(w, r)
		return
	}
	g.faulted.Add(1)
	if mode == gateBlackholed {
		select {
		case <-r.Context().Done(): // the caller gave up
		case <-release:
		}
	}
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}
