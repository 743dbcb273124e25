package serve

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// startDraining runs mux under RunWith with a drain of drain and /health as
// the health path; cancel starts the shutdown.
func startDraining(t *testing.T, mux http.Handler, drain time.Duration) (addr string, cancel func(), runErr <-chan error) {
	t.Helper()
	ctx, cancelCtx := context.WithCancel(context.Background())
	t.Cleanup(cancelCtx)
	ln, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- RunWith(ctx, slog.New(slog.DiscardHandler), &http.Server{Handler: mux}, ln,
			Options{Grace: 30 * time.Second, Drain: drain, HealthPath: "/health"})
	}()
	return ln.Addr().String(), cancelCtx, errc
}

// rawConn sends requests on one kept-alive connection, as a load balancer's
// pooled connection does.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{c: c, br: bufio.NewReader(c)}
}

// do sends method path with body and returns the response (its body read).
func (rc *rawConn) do(method, path, body string) (*http.Response, string, error) {
	req := method + " " + path + " HTTP/1.1\r\nHost: registry\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := io.WriteString(rc.c, req); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

func echoMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, "got "+string(body))
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ok"}`)
	})
	return mux
}

// While draining, a PUT on a kept-alive connection — a load balancer's
// pooled one — is answered and the connection closed after it; the health
// check fails with 503; once it has, and nothing else arrives, the drain
// ends well before its limit and the listener closes.
func TestRunWithDrainsBeforeShutdown(t *testing.T) {
	addr, cancel, runErr := startDraining(t, echoMux(), 20*time.Second)
	pooled := dialRaw(t, addr)
	resp, body, err := pooled.do("PUT", "/put", "one")
	if err != nil || body != "got one" || resp.Close {
		t.Fatalf("before shutdown: body %q, close %v, err %v", body, resp != nil && resp.Close, err)
	}
	health := dialRaw(t, addr)
	if resp, body, err := health.do("GET", "/health", ""); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health before shutdown: %v %q %v", resp, body, err)
	}

	cancel()
	// Wait until the server drains (its answers say "Connection: close");
	// without the drain, Shutdown has closed the idle connection by then.
	for i := 0; ; i++ {
		resp, _, err := dialRaw(t, addr).do("PUT", "/put", "probe")
		if err == nil && resp.Close {
			break
		}
		if i == 500 {
			t.Fatalf("the server did not start draining (last answer: close %v, err %v)", resp != nil && resp.Close, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, body, err = pooled.do("PUT", "/put", "two")
	if err != nil {
		t.Fatalf("PUT on the pooled connection after shutdown began: %v", err)
	}
	// resp.Close: the response said "Connection: close" (ReadResponse
	// removes the header itself).
	if body != "got two" || !resp.Close {
		t.Fatalf("while draining: body %q, close %v; want the answer and Connection: close", body, resp.Close)
	}
	if _, err := pooled.br.ReadByte(); err != io.EOF {
		t.Fatalf("the connection stays open after a draining response (read: %v)", err)
	}

	// A new connection is still accepted; the health check fails.
	resp, body, err = dialRaw(t, addr).do("GET", "/health", "")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || body != "{\"status\":\"draining\"}\n" {
		t.Fatalf("health while draining: status %v body %q err %v; want 503 draining", resp, body, err)
	}

	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("RunWith: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the drain did not end after the failed health check and a quiet spell (its limit is 20 s)")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("listener still accepts connections after shutdown")
	}
}

// Without a health check the drain lasts its limit; with one it ends a
// quiet spell after it, unless requests keep coming.
func TestDrainEnds(t *testing.T) {
	const quiet, limit = 50 * time.Millisecond, 400 * time.Millisecond
	health := httptest.NewRequest(http.MethodGet, "/health", nil)
	other := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

	var unchecked drainer
	start := time.Now()
	unchecked.drain(limit, quiet)
	if took := time.Since(start); took < limit {
		t.Errorf("drain without a health check took %v, want its limit %v", took, limit)
	}

	checked := drainer{healthPath: "/health"}
	h := checked.wrap(noop)
	go func() {
		waitDraining(&checked)
		h.ServeHTTP(httptest.NewRecorder(), health)
	}()
	start = time.Now()
	const checkedLimit = 5 * time.Second // room for a slow CI machine
	checked.drain(checkedLimit, quiet)
	if took := time.Since(start); took < quiet || took >= checkedLimit {
		t.Errorf("drain after a health check took %v, want a quiet spell (%v) after it, not the limit (%v)", took, quiet, checkedLimit)
	}

	busy := drainer{healthPath: "/health"}
	h = busy.wrap(noop)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a health check, then a request every 10 ms
		defer close(done)
		waitDraining(&busy)
		h.ServeHTTP(httptest.NewRecorder(), health)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				h.ServeHTTP(httptest.NewRecorder(), other)
			}
		}
	}()
	start = time.Now()
	busy.drain(limit, quiet)
	took := time.Since(start)
	close(stop)
	<-done
	if took < limit {
		t.Errorf("drain with requests still coming took %v, want its limit %v", took, limit)
	}
}

// waitDraining returns once d drains.
func waitDraining(d *drainer) {
	for !d.draining.Load() {
		time.Sleep(time.Millisecond)
	}
}
