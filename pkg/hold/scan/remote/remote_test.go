package remote

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// TestJobsSplitBetweenWorkers: two workers share the queue by who is
// free — each holds one job at a time, so while the first scan of each is
// held back until both have one, both must get work — and every job is
// finished exactly once, with the report of the worker that scanned it.
func TestJobsSplitBetweenWorkers(t *testing.T) {
	e := newEnv(t)
	const n = 8
	for range n {
		e.addJob()
	}
	starts := make(chan started, 2*n)
	gate := make(chan struct{})
	a := &fakeScanner{name: "a", started: starts, gate: gate}
	b := &fakeScanner{name: "b", started: starts, gate: gate}
	e.startWorker("a", a)
	e.startWorker("b", b)
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case s := <-starts:
			seen[s.worker] = true
		case <-time.After(patience):
			t.Fatalf("workers that started a job: %v, want a and b", seen)
		}
	}
	close(gate)

	finished := e.waitFinished(n)
	byJob := map[int64]string{}
	byWorker := map[string]int{}
	for _, f := range finished {
		if prev, dup := byJob[f.id]; dup {
			t.Errorf("job %d finished twice (%s, %s)", f.id, prev, f.worker)
		}
		byJob[f.id] = f.worker
		byWorker[f.worker]++
		var report map[string]string
		if err := json.Unmarshal(f.res.Report, &report); err != nil {
			t.Fatalf("job %d report: %v", f.id, err)
		}
		if "remote:"+report["scannedBy"] != f.worker {
			t.Errorf("job %d finished by %s carries the report of %s", f.id, f.worker, report["scannedBy"])
		}
		if f.res.Status != scan.StatusCompleted || f.res.Counts.Critical != 1 || string(f.res.SBOM) != `{"spdxVersion":"SPDX-2.3"}` ||
			f.res.ScannerVersion != "fake-v1" || !f.res.DBBuilt.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("job %d result arrived as %+v", f.id, f.res)
		}
	}
	if len(byJob) != n {
		t.Errorf("%d distinct jobs finished, want %d", len(byJob), n)
	}
	if byWorker["remote:a"] == 0 || byWorker["remote:b"] == 0 {
		t.Errorf("jobs per worker %v: both must have worked", byWorker)
	}
	if len(a.scanned)+len(b.scanned) != n {
		t.Errorf("scanners completed %d + %d scans, want %d in all", len(a.scanned), len(b.scanned), n)
	}
}

// TestKilledWorkerJobReissued: a worker stopped in the middle of a scan
// loses its job at once to the idle one, which finishes it.
func TestKilledWorkerJobReissued(t *testing.T) {
	e := newEnv(t)
	id := e.addJob()
	starts := make(chan started, 4)
	stopA := e.startWorker("a", &fakeScanner{name: "a", block: true, started: starts})
	waitStart(t, starts, "a")
	b := &fakeScanner{name: "b", started: starts}
	e.startWorker("b", b)

	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	f := e.waitFinished(1)[0]
	if f.id != id || f.worker != "remote:b" {
		t.Fatalf("job %d finished by %s, want job %d by remote:b", f.id, f.worker, id)
	}
	claims, releases, _ := e.rec.snapshot()
	if len(releases) != 1 || releases[0] != (call{"remote:a", id}) {
		t.Errorf("releases %v, want job %d released once by remote:a", releases, id)
	}
	if len(claims) != 2 || claims[0].worker != "remote:a" || claims[1].worker != "remote:b" {
		t.Errorf("claims %v, want remote:a then remote:b", claims)
	}
}

// TestScannerErrorReleases: a scanner error is not a result: the worker
// gives the job back (#release) and another worker finishes it.
func TestScannerErrorReleases(t *testing.T) {
	e := newEnv(t)
	id := e.addJob()
	starts := make(chan started, 4)
	stopA := e.startWorker("a", &fakeScanner{name: "a", fail: errors.New("storage unreachable"), started: starts})
	waitStart(t, starts, "a")
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	e.startWorker("b", &fakeScanner{name: "b"})
	if f := e.waitFinished(1)[0]; f.id != id || f.worker != "remote:b" {
		t.Fatalf("job %d finished by %s", f.id, f.worker)
	}
	_, releases, finishes := e.rec.snapshot()
	if len(finishes) != 1 || len(releases) == 0 || releases[0] != (call{"remote:a", id}) {
		t.Fatalf("finishes %v releases %v, want job %d released by remote:a, then finished once", finishes, releases, id)
	}
}

func waitStart(t *testing.T, starts <-chan started, worker string) {
	t.Helper()
	select {
	case s := <-starts:
		if s.worker != worker {
			t.Fatalf("%s started a job, want %s", s.worker, worker)
		}
	case <-time.After(patience):
		t.Fatalf("%s never started a job", worker)
	}
}

// TestSecretRefused: without the right secret, or when the hold has none,
// the answer is 401 InvalidSecret and no job leaves the queue; failures
// from one address are rate-limited, the right secret included, until the
// limit's clock moves on.
func TestSecretRefused(t *testing.T) {
	clock := testclock.New(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, func(o *HandlerOptions) { o.Now = clock.Now })
	e.addJob()
	get := func(hdr http.Header, query string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/xrpc/"+string(NSID)+"?worker=w"+query, nil)
		req.Header = hdr
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Error string }
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body)
		return resp.StatusCode, body.Error
	}
	for name, c := range map[string]struct {
		hdr   http.Header
		query string
	}{
		"missing":       {http.Header{}, ""},
		"wrong header":  {http.Header{SecretHeader: {testSecret + "x"}}, ""},
		"wrong query":   {http.Header{}, "&secret=" + testSecret[:10]},
		"prefix header": {http.Header{SecretHeader: {testSecret[:len(testSecret)-1]}}, ""},
	} {
		if status, name2 := get(c.hdr, c.query); status != http.StatusUnauthorized || name2 != "InvalidSecret" {
			t.Errorf("%s: %d %s, want 401 InvalidSecret", name, status, name2)
		}
	}
	// RunWorker gives up on a refused secret instead of retrying forever.
	err := RunWorker(t.Context(), WorkerOptions{HoldURL: e.srv.URL, Secret: "wrong", Name: "w", Scanner: &fakeScanner{}, Logger: quietLogger()})
	if !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("RunWorker with a wrong secret: %v, want ErrInvalidSecret", err)
	}
	// 5 failures so far; the burst is 10.
	for range failedBurst - 5 {
		get(http.Header{}, "")
	}
	if status, name := get(http.Header{SecretHeader: {testSecret}}, ""); status != http.StatusTooManyRequests || name != "RateLimitExceeded" {
		t.Errorf("right secret after %d failures: %d %s, want 429 RateLimitExceeded", failedBurst, status, name)
	}
	if claims, _, _ := e.rec.snapshot(); len(claims) != 0 {
		t.Fatalf("jobs were claimed without the secret: %v", claims)
	}
	clock.Advance(failedInterval)
	conn := e.dial("w", "")
	if job := readJob(t, conn); job.ID != 1 {
		t.Errorf("after the limit, the worker got job %d", job.ID)
	}

	// A hold without a secret refuses even an empty one.
	open := newEnv(t, func(o *HandlerOptions) { o.Secret = "" })
	open.addJob()
	for _, hdr := range []http.Header{{}, {SecretHeader: {""}}, {SecretHeader: {testSecret}}} {
		req, _ := http.NewRequest(http.MethodGet, open.srv.URL+"/xrpc/"+string(NSID)+"?worker=w", nil)
		req.Header = hdr
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("hold without a secret answered %d to %v", resp.StatusCode, hdr)
		}
	}
	if claims, _, _ := open.rec.snapshot(); len(claims) != 0 {
		t.Fatalf("a hold without a secret handed out %v", claims)
	}
}

// TestBadParams: malformed worker names and cursors are refused before
// the upgrade.
func TestBadParams(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"", "?worker=", "?worker=-x", "?worker=a/b", "?worker=" + strings.Repeat("a", 65), "?worker=w&cursor=x", "?worker=w&cursor=-2"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/xrpc/"+string(NSID)+q, nil)
		req.Header.Set(SecretHeader, testSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: %d, want 400", q, resp.StatusCode)
		}
	}
}

// tooBig stands for the close code 1009 where a test expects an #error.
const tooBig = "close 1009"

// TestBadResultReleases: a result that breaks the protocol closes the
// connection with #error and releases the job, which the next worker
// gets; nothing is finished.
func TestBadResultReleases(t *testing.T) {
	valid := func(id int64) *atcr.HoldSubscribeScanJobs_ScanResult {
		return &atcr.HoldSubscribeScanJobs_ScanResult{ID: id, Status: "completed", Total: 1, Low: 1, ScannerVersion: "v", ReportSize: 4}
	}
	for name, c := range map[string]struct {
		send func(t *testing.T, conn *websocket.Conn, id int64)
		want string // the #error's name
	}{
		"report above 64 MiB": {func(t *testing.T, conn *websocket.Conn, id int64) {
			m := valid(id)
			m.ReportSize = scan.MaxDocument + 1
			sendJSON(t, conn, typeScanResult, m)
		}, "ResultTooLarge"},
		"report frame longer than announced": {func(t *testing.T, conn *websocket.Conn, id int64) {
			sendJSON(t, conn, typeScanResult, valid(id))
			_ = conn.WriteMessage(websocket.BinaryMessage, []byte("longer than four"))
		}, tooBig},
		"report frame shorter than announced": {func(t *testing.T, conn *websocket.Conn, id int64) {
			sendJSON(t, conn, typeScanResult, valid(id))
			_ = conn.WriteMessage(websocket.BinaryMessage, []byte("abc"))
		}, "InvalidMessage"},
		"report as text": {func(t *testing.T, conn *websocket.Conn, id int64) {
			sendJSON(t, conn, typeScanResult, valid(id))
			_ = conn.WriteMessage(websocket.TextMessage, []byte("abcd"))
		}, "InvalidMessage"},
		"oversized JSON frame": {func(t *testing.T, conn *websocket.Conn, id int64) {
			m := valid(id)
			m.Reason = strings.Repeat("x", maxWorkerMessage)
			sendJSON(t, conn, typeScanResult, m)
		}, tooBig},
		"not JSON": {func(t *testing.T, conn *websocket.Conn, id int64) {
			_ = conn.WriteMessage(websocket.TextMessage, []byte("{nope"))
		}, "InvalidMessage"},
		"unknown type": {func(t *testing.T, conn *websocket.Conn, id int64) {
			sendJSON(t, conn, typeScanJob, valid(id))
		}, "InvalidMessage"},
		"unknown status": {func(t *testing.T, conn *websocket.Conn, id int64) {
			m := valid(id)
			m.Status = "great"
			sendJSON(t, conn, typeScanResult, m)
		}, "InvalidMessage"},
		"negative count": {func(t *testing.T, conn *websocket.Conn, id int64) {
			m := valid(id)
			m.High = -1
			sendJSON(t, conn, typeScanResult, m)
		}, "InvalidMessage"},
		"wrong job": {func(t *testing.T, conn *websocket.Conn, id int64) {
			m := valid(id + 100)
			m.ReportSize = 0
			sendJSON(t, conn, typeScanResult, m)
		}, "WrongJob"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			id := e.addJob()
			conn := e.dial("bad", "")
			job := readJob(t, conn)
			c.send(t, conn, job.ID)
			if c.want == tooBig {
				// The read limit trips inside the WebSocket library, which
				// closes with 1009 before the hold could say more.
				if _, _, err := conn.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
					t.Fatalf("got %v, want a message-too-big close", err)
				}
			} else {
				typ, v := readMessage(t, conn)
				if msg, ok := v.(*atcr.HoldSubscribeScanJobs_Error); !ok || msg.Error != c.want {
					t.Fatalf("got %s %+v, want #error %s", typ, v, c.want)
				}
				if _, _, err := conn.ReadMessage(); !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
					t.Fatalf("after #error: %v, want a policy-violation close", err)
				}
			}
			// The job went back to the queue: a fresh worker gets it.
			if again := readJob(t, e.dial("good", "")); again.ID != id {
				t.Fatalf("next worker got job %d, want %d", again.ID, id)
			}
			_, releases, finishes := e.rec.snapshot()
			if len(finishes) != 0 || len(releases) != 1 || releases[0] != (call{"remote:bad", id}) {
				t.Fatalf("finishes %v releases %v; want only job %d released by remote:bad", finishes, releases, id)
			}
		})
	}
}

// TestCursorResume: a worker that reconnects (its old connection not yet
// noticed gone) with cursor = its job gets that job again on the new
// connection, lease kept, and can finish it; the old connection is told
// it was superseded. Without the cursor the job goes back to the queue.
func TestCursorResume(t *testing.T) {
	e := newEnv(t)
	id := e.addJob()
	old := e.dial("w", "")
	if job := readJob(t, old); job.ID != id {
		t.Fatalf("got job %d", job.ID)
	}
	fresh := e.dial("w", "1")
	job := readJob(t, fresh)
	if job.ID != id {
		t.Fatalf("resumed connection got job %d, want %d", job.ID, id)
	}
	if typ, v := readMessage(t, old); typ != typeInfo || v.(*atcr.HoldSubscribeScanJobs_Info).Name != "Superseded" {
		t.Fatalf("old connection got %s %+v, want #info Superseded", typ, v)
	}
	sendJSON(t, fresh, typeScanResult, &atcr.HoldSubscribeScanJobs_ScanResult{ID: id, Status: "skipped", Reason: "helm chart", ScannerVersion: "v"})
	f := e.waitFinished(1)[0]
	if f.id != id || f.worker != "remote:w" || f.res.Status != scan.StatusSkipped || f.res.Reason != "helm chart" {
		t.Fatalf("finished %+v", f)
	}
	if claims, releases, _ := e.rec.snapshot(); len(claims) != 1 || len(releases) != 0 {
		t.Fatalf("claims %v releases %v: the resumed job must keep its one lease", claims, releases)
	}

	// Without the cursor: the old lease is released and the job claimed
	// again (here by the same name, the only worker).
	id2 := e.addJob()
	if job := readJob(t, fresh); job.ID != id2 {
		t.Fatalf("got job %d, want %d", job.ID, id2)
	}
	third := e.dial("w", "-1")
	if job := readJob(t, third); job.ID != id2 {
		t.Fatalf("third connection got job %d, want %d", job.ID, id2)
	}
	if claims, releases, _ := e.rec.snapshot(); len(releases) != 1 || releases[0] != (call{"remote:w", id2}) || len(claims) != 3 {
		t.Fatalf("claims %v releases %v: want job %d released and claimed again", claims, releases, id2)
	}
}

// TestWorkerRefusesNonHTTPURL: a job whose blob URL is not http(s) is
// given back, not fetched.
func TestWorkerRefusesNonHTTPURL(t *testing.T) {
	m := &atcr.HoldSubscribeScanJobs_ScanJob{
		ID: 1, ManifestDigest: oci.FromBytes(oci.SHA256, []byte("m")).String(),
		Layers: []atcr.HoldSubscribeScanJobs_Blob{{
			Digest: oci.FromBytes(oci.SHA256, []byte("l")).String(), Size: 1,
			URL: "file:///etc/passwd", URLExpiresAt: "2030-01-01T00:00:00Z",
		}},
	}
	if _, _, err := jobFromMessage(m); err == nil || !strings.Contains(err.Error(), "http(s)") {
		t.Fatalf("file URL: %v, want a refusal", err)
	}
}

// TestWorkerKeepsScanAcrossReconnect: when a worker's connection breaks
// mid-scan, the scan goes on; the worker reconnects with its cursor, the
// hold offers the same job again and the worker answers it from that
// scan — the Scanner runs once.
func TestWorkerKeepsScanAcrossReconnect(t *testing.T) {
	e := newEnv(t)
	id := e.addJob()
	conns := make(chan net.Conn, 4)
	dialer := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			conns <- c
		}
		return c, err
	}}
	starts := make(chan started, 4)
	gate := make(chan struct{})
	e.startWorker("a", &fakeScanner{name: "a", started: starts, gate: gate}, func(o *WorkerOptions) { o.Dialer = dialer })
	waitStart(t, starts, "a")
	(<-conns).Close() // the network drops the worker's first connection
	select {
	case <-conns: // it reconnected
	case <-time.After(patience):
		t.Fatal("the worker did not reconnect")
	}
	close(gate)
	f := e.waitFinished(1)[0]
	if f.id != id || f.worker != "remote:a" {
		t.Fatalf("finished %+v", f)
	}
	if len(starts) != 0 {
		t.Errorf("the Scanner started again after the reconnection")
	}
	// Whether the hold noticed the old connection gone before the new one
	// arrived (release, claim again) or not (the lease moves over) is a
	// race; either way the job stayed with remote:a.
	claims, _, _ := e.rec.snapshot()
	for _, c := range claims {
		if c != (call{"remote:a", id}) {
			t.Errorf("claims %v: want only job %d by remote:a", claims, id)
		}
	}
}
