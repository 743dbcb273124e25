package logging

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// recordChan is a slog.Handler that hands each record to the test, so the
// test can wait for the line the middleware writes after the response.
type recordChan chan slog.Record

func (c recordChan) Enabled(context.Context, slog.Level) bool { return true }
func (c recordChan) Handle(_ context.Context, r slog.Record) error {
	c <- r.Clone()
	return nil
}
func (c recordChan) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c recordChan) WithGroup(string) slog.Handler      { return c }

func (c recordChan) next(t *testing.T) (slog.Level, map[string]slog.Value) {
	t.Helper()
	select {
	case r := <-c:
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value
			return true
		})
		if r.Message != "HTTP request" {
			t.Errorf("message %q, want HTTP request", r.Message)
		}
		return r.Level, attrs
	case <-time.After(30 * time.Second):
		t.Fatal("no request was logged")
		return 0, nil
	}
}

func newLoggedServer(t *testing.T, h http.Handler) (*httptest.Server, recordChan) {
	t.Helper()
	records := make(recordChan, 8)
	srv := httptest.NewServer(Middleware(slog.New(records))(h))
	t.Cleanup(srv.Close)
	return srv, records
}

func TestMiddlewareLogsRequests(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	mux.HandleFunc("HEAD /empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("PUT /fail", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints) // interim, not the final status
		http.Error(w, "no", http.StatusInternalServerError)
	})
	srv, records := newLoggedServer(t, mux)

	cases := []struct {
		method, path string
		level        slog.Level
		status       int64
		bytes        int64
		loggedPath   string
	}{
		{"GET", "/v2/?token=secret", slog.LevelDebug, 200, 5, "/v2/"},
		{"HEAD", "/empty", slog.LevelDebug, 200, 0, "/empty"},
		{"PUT", "/fail", slog.LevelInfo, 500, 3, "/fail"},
		{"GET", "/missing", slog.LevelInfo, 404, 19, "/missing"},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()

		level, attrs := records.next(t)
		if level != tc.level {
			t.Errorf("%s %s logged at %v, want %v", tc.method, tc.path, level, tc.level)
		}
		if got := attrs["method"].String(); got != tc.method {
			t.Errorf("method %q, want %q", got, tc.method)
		}
		if got := attrs["path"].String(); got != tc.loggedPath {
			t.Errorf("path %q, want %q (no query string)", got, tc.loggedPath)
		}
		if got := attrs["status"].Int64(); got != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, got, tc.status)
		}
		if got := attrs["bytes"].Int64(); got != tc.bytes {
			t.Errorf("%s %s: bytes %d, want %d", tc.method, tc.path, got, tc.bytes)
		}
		if d, ok := attrs["duration"]; !ok || d.Kind() != slog.KindDuration {
			t.Errorf("duration missing or not a duration: %v", d)
		}
	}
}

func TestMiddlewareKeepsFlushAndHijack(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		io.WriteString(w, "second\n")
	})
	mux.HandleFunc("/upgrade", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhi")
		brw.Flush()
	})
	srv, records := newLoggedServer(t, mux)

	resp, err := srv.Client().Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "first\nsecond\n" {
		t.Errorf("stream body %q", body)
	}
	if _, attrs := records.next(t); attrs["status"].Int64() != 200 || attrs["bytes"].Int64() != 13 {
		t.Errorf("stream logged %v", attrs)
	}

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, "101") {
		t.Fatalf("upgrade answered %q, %v", status, err)
	}
	if _, attrs := records.next(t); attrs["status"].Int64() != http.StatusSwitchingProtocols {
		t.Errorf("upgrade logged status %v, want 101", attrs["status"])
	}
}
