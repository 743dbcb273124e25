package registry_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/appview/uploads"
)

// rawPatch sends a PATCH on its own connection: headers as given, then
// body, then the connection's write side closed, as a client that gives up
// mid-body does. It returns the response.
func (e *testEnv) rawPatch(t *testing.T, u storagetest.User, loc string, headers map[string]string, body string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var req strings.Builder
	fmt.Fprintf(&req, "PATCH %s HTTP/1.1\r\nHost: registry\r\nAuthorization: Bearer %s\r\n", loc, tokenFor(u))
	for k, v := range headers {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	req.WriteString(body)
	if _, err := conn.Write([]byte(req.String())); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodPatch})
	if err != nil {
		t.Fatalf("no answer to the PATCH: %v", err)
	}
	return resp
}

// chunked encodes parts as a chunked body with its terminator.
func chunked(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(p), p)
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// TestShortBodyIsRefused: a body that ends before its Content-Length is
// BLOB_UPLOAD_INVALID (400), on the small-chunk and the streaming path
// alike, and what arrived stays with the session (before: 500 on one
// path, 202 on the other).
func TestShortBodyIsRefused(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.PartSize = uploads.MinPartSize }})
	for name, size := range map[string]int{"small": 100, "streamed": 2 << 20} {
		t.Run(name, func(t *testing.T) {
			loc := env.startSession(t, env.alice, "alice.test/app")
			resp := env.rawPatch(t, env.alice, loc, map[string]string{
				"Content-Length": fmt.Sprint(size), "Content-Type": "application/octet-stream",
			}, strings.Repeat("x", 10))
			expectError(t, resp, http.StatusBadRequest, "BLOB_UPLOAD_INVALID")
			status := env.call(t, env.alice, http.MethodGet, loc, nil, nil)
			expectStatus(t, status, http.StatusNoContent)
			if got := status.Header.Get("Range"); got != "0-9" {
				t.Fatalf("after the short body the session holds %q, want 0-9", got)
			}
		})
	}
}

// TestChunkedBodyHeldToItsContentRange: a chunked PATCH (no
// Content-Length) with a Content-Range is RANGE_INVALID (416) when its body
// is longer or shorter than the range, as with a Content-Length that
// disagrees; one that matches is taken.
func TestChunkedBodyHeldToItsContentRange(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	headers := func(rng string) map[string]string {
		return map[string]string{"Transfer-Encoding": "chunked", "Content-Range": rng, "Content-Type": "application/octet-stream"}
	}
	loc := env.startSession(t, env.alice, "alice.test/app")
	resp := env.rawPatch(t, env.alice, loc, headers("0-9"), chunked("01234", "56789"))
	expectStatus(t, resp, http.StatusAccepted)
	if got := resp.Header.Get("Range"); got != "0-9" {
		t.Fatalf("Range %q after a matching chunk, want 0-9", got)
	}
	loc = resp.Header.Get("Location")
	for name, c := range map[string]struct{ rng, body string }{
		"longer":  {"10-13", chunked("abcdefghij")},
		"shorter": {"10-10000", chunked("ab")},
	} {
		resp := env.rawPatch(t, env.alice, loc, headers(c.rng), c.body)
		expectError(t, resp, http.StatusRequestedRangeNotSatisfiable, "RANGE_INVALID")
		if got := resp.Header.Get("Range"); got == "" {
			t.Fatalf("%s: 416 without the session's Range", name)
		}
	}
}

// TestClientLeavingKeepsSentParts: a client that goes away mid-PATCH,
// after a whole part has arrived, leaves that part with the session: the
// part's send to the hold is not tied to the client (before, it was
// cancelled with the request, the session rewound to 0, and the request
// logged as a failing hold).
func TestClientLeavingKeepsSentParts(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.PartSize = uploads.MinPartSize }})
	env.Hold.SetPartURLDelay(300 * time.Millisecond) // the part is in flight when the client leaves
	loc := env.startSession(t, env.alice, "alice.test/app")
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	sent := uploads.MinPartSize + 1<<20
	head := fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: registry\r\nAuthorization: Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
		loc, tokenFor(env.alice), 2*uploads.MinPartSize)
	if _, err := conn.Write(append([]byte(head), randomBytes(sent)...)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // read by the server, part 1 on its way
	conn.Close()
	want := fmt.Sprintf("0-%d", uploads.MinPartSize-1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status := env.call(t, env.alice, http.MethodGet, loc, nil, nil)
		got := status.Header.Get("Range")
		status.Body.Close()
		if got == want || got == fmt.Sprintf("0-%d", sent-1) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session Range %q after the client left, want the sent part kept (%s)", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStatusDoesNotWaitForAStalledPatch: GET on a session answers at once
// while a PATCH whose body stalls holds it — with the offset before that
// PATCH, where the client can resume (before, GET waited for the PATCH,
// up to the body idle timeout, or forever for a body that trickles).
func TestStatusDoesNotWaitForAStalledPatch(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	loc := env.startSession(t, env.alice, "alice.test/app")
	resp := env.call(t, env.alice, http.MethodPatch, loc, []byte("12345"), chunk(0, 5))
	expectStatus(t, resp, http.StatusAccepted)
	loc = resp.Header.Get("Location")

	conn, err := net.Dial("tcp", strings.TrimPrefix(env.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: registry\r\nAuthorization: Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n",
		loc, tokenFor(env.alice))
	if _, err := conn.Write([]byte(head + "67890")); err != nil { // then nothing
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the PATCH holds the session

	done := make(chan *http.Response, 1)
	go func() { done <- env.call(t, env.alice, http.MethodGet, loc, nil, nil) }()
	select {
	case status := <-done:
		expectStatus(t, status, http.StatusNoContent)
		if got := status.Header.Get("Range"); got != "0-4" {
			t.Fatalf("status Range %q during the stalled PATCH, want 0-4", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GET waited for the stalled PATCH")
	}
}

// TestClientLeavingDuringCompletionKeepsTheBlob: a client that goes away
// while the hold completes its upload (the last PUT) does not cut the
// completion off: the blob ends up on the hold, linked, and the client's
// HEAD on its retry finds it (before, the completion was cancelled with
// the request and the blob was lost).
func TestClientLeavingDuringCompletionKeepsTheBlob(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	env.Hold.SetCompleteDelay(300 * time.Millisecond) // still completing when the client leaves
	data := randomBytes(4096)
	d := digestOf(data)
	loc := env.startSession(t, env.alice, "alice.test/app")
	resp := env.call(t, env.alice, http.MethodPatch, loc, data, chunk(0, len(data)))
	expectStatus(t, resp, http.StatusAccepted)
	loc = resp.Header.Get("Location")
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("PUT %s%sdigest=%s HTTP/1.1\r\nHost: registry\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n\r\n",
		loc, sep, d, tokenFor(env.alice))
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the completion is on its way
	conn.Close()

	deadline := time.Now().Add(10 * time.Second)
	for {
		if env.Hold.HasBlob(t, d) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the blob never reached the hold: the completion was cut off with the request")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The pusher's HEAD (its retry) finds it, and a pull gets its bytes.
	deadline = time.Now().Add(10 * time.Second)
	for {
		resp := env.call(t, env.alice, http.MethodHead, "/v2/alice.test/app/blobs/"+d.String(), nil, nil)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("HEAD after the completion: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := env.fetchBlob(t, "alice.test/app", d); !bytes.Equal(got, data) {
		t.Fatal("the completed blob pulls back other bytes")
	}
}

// TestClientLeavingWhileThePutWaitsKeepsTheBlob: the final PUT finds its
// session busy (here a PATCH whose body is still arriving) and its client
// leaves while it waits. The completion still runs once the session is
// free, so the blob is stored (before, the wait ended with the request and
// the completion never ran; probe-recheck2 N5 met it after a monolithic PUT).
func TestClientLeavingWhileThePutWaitsKeepsTheBlob(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	data := randomBytes(105)
	d := digestOf(data)
	loc := env.startSession(t, env.alice, "alice.test/app")
	resp := env.call(t, env.alice, http.MethodPatch, loc, data[:5], chunk(0, 5))
	expectStatus(t, resp, http.StatusAccepted)
	loc = resp.Header.Get("Location")

	dial := func() net.Conn {
		conn, err := net.Dial("tcp", strings.TrimPrefix(env.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	patch := dial()
	defer patch.Close()
	if _, err := fmt.Fprintf(patch, "PATCH %s HTTP/1.1\r\nHost: registry\r\nAuthorization: Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n%s",
		loc, tokenFor(env.alice), data[5:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the PATCH holds the session

	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	put := dial()
	if _, err := fmt.Fprintf(put, "PUT %s%sdigest=%s HTTP/1.1\r\nHost: registry\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n\r\n",
		loc, sep, d, tokenFor(env.alice)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the PUT waits for the session
	put.Close()
	time.Sleep(100 * time.Millisecond) // and its client is gone

	if _, err := patch.Write(data[10:]); err != nil { // the PATCH ends, the session is free
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !env.Hold.HasBlob(t, d) {
		if time.Now().After(deadline) {
			t.Fatal("the blob never reached the hold: the PUT's wait ended with its client")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := env.fetchBlob(t, "alice.test/app", d); !bytes.Equal(got, data) {
		t.Fatal("the completed blob pulls back other bytes")
	}
}
