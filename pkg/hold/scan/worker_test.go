package scan

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"atcr.io/internal/syncbuf"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// scriptedScanner runs one step per call: panic, fail, block until ctx
// ends, or return a result. It tells the test each call began.
type scriptedScanner struct {
	calls chan Image
	steps []string // "panic", "error", "block", "ok"
	mu    sync.Mutex
	n     int
}

func (s *scriptedScanner) Scan(ctx context.Context, img Image, blobs Blobs) (Result, error) {
	s.mu.Lock()
	step := s.steps[min(s.n, len(s.steps)-1)]
	s.n++
	s.mu.Unlock()
	s.calls <- img
	switch step {
	case "panic":
		panic("hostile image")
	case "error":
		return Result{}, errors.New("storage unreachable")
	case "block":
		<-ctx.Done()
		return Result{}, ctx.Err()
	case "blob":
		rc, err := blobs.Open(ctx, img.Layers[0].Digest)
		if err != nil {
			return Result{}, err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			return Result{}, err
		}
		return Result{Status: StatusSkipped, Reason: "layer holds " + string(data), ScannerVersion: "test"}, nil
	}
	return Result{Status: StatusSkipped, Reason: "ok", ScannerVersion: "test"}, nil
}

// reportingQueue tells the test when a worker reported an attempt.
type reportingQueue struct {
	*Queue
	reported chan string
}

func (r reportingQueue) Fail(ctx context.Context, worker string, id int64, reason string) error {
	err := r.Queue.Fail(ctx, worker, id, reason)
	r.reported <- "fail: " + reason
	return err
}

func (r reportingQueue) Finish(ctx context.Context, worker string, id int64, res Result) error {
	err := r.Queue.Finish(ctx, worker, id, res)
	r.reported <- "finish"
	return err
}

func (r reportingQueue) Release(ctx context.Context, worker string, id int64) error {
	err := r.Queue.Release(ctx, worker, id)
	r.reported <- "release"
	return err
}

// startWorkers runs one in-process worker until the returned stop.
func (e *testEnv) startWorkers(t *testing.T, sc Scanner) (reports chan string, stop func()) {
	t.Helper()
	reports = make(chan string, 10)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunWorkers(ctx, WorkerOptions{Queue: reportingQueue{e.q, reports}, Scanner: sc, Blobs: S3Blobs{S3: e.svc},
			Workers: 1, JobTimeout: time.Hour, Logger: quietLogger()})
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return reports, stop
}

func TestWorkerPanicsAndErrorsAreRetriedThenFailed(t *testing.T) {
	e := newEnv(t)
	sc := &scriptedScanner{calls: make(chan Image, 10), steps: []string{"panic", "error", "panic"}}
	reports, _ := e.startWorkers(t, sc)
	job := testJob(alice, 20)
	e.enqueue(t, job)

	for attempt, wait := 1, time.Minute; attempt <= 3; attempt, wait = attempt+1, wait*2 {
		<-sc.calls
		got := <-reports
		want := "fail: the scanner crashed: hostile image"
		if attempt == 2 {
			want = "fail: storage unreachable"
		}
		if got != want {
			t.Fatalf("attempt %d reported %q, want %q", attempt, got, want)
		}
		if attempt < 3 {
			if st := e.state(t, job.Image.Digest); st.State != StateQueued || st.Attempt != attempt+1 {
				t.Fatalf("after attempt %d state %+v", attempt, st)
			}
			e.clock.Advance(wait)
			e.q.Wake()
		}
	}
	// The last failure is recorded by the next claim.
	e.q.Wake()
	e.enqueue(t, testJob(alice, 21)) // gives the worker a reason to claim
	<-sc.calls
	<-reports
	rec := e.mustRecord(t, job.Image.Digest)
	if rec.Status != "failed" || !strings.Contains(rec.StatusReason, "the scanner crashed: hostile image") {
		t.Errorf("record %q %q, want failed with the crash", rec.Status, rec.StatusReason)
	}
}

func TestWorkerReadsBlobsFromS3AndPublishes(t *testing.T) {
	e := newEnv(t)
	job := testJob(alice, 22)
	job.Image.Layers[0].Digest = oci.FromBytes(oci.SHA256, []byte("tar"))
	if err := e.svc.PutBytes(t.Context(), s3.BlobKey(job.Image.Layers[0].Digest), []byte("tar")); err != nil {
		t.Fatal(err)
	}
	sc := &scriptedScanner{calls: make(chan Image, 10), steps: []string{"blob"}}
	reports, _ := e.startWorkers(t, sc)
	e.enqueue(t, job)
	<-sc.calls
	if got := <-reports; got != "finish" {
		t.Fatalf("reported %q", got)
	}
	if rec := e.mustRecord(t, job.Image.Digest); rec.StatusReason != "layer holds tar" {
		t.Errorf("record reason %q", rec.StatusReason)
	}
}

func TestShutdownReleasesLeasedJobs(t *testing.T) {
	e := newEnv(t)
	sc := &scriptedScanner{calls: make(chan Image, 10), steps: []string{"block"}}
	reports, stop := e.startWorkers(t, sc)
	job := testJob(alice, 23)
	e.enqueue(t, job)
	<-sc.calls
	if st := e.state(t, job.Image.Digest); st.State != StateScanning {
		t.Fatalf("state while scanning = %+v", st)
	}
	stop()
	if got := <-reports; got != "release" {
		t.Fatalf("at shutdown the worker reported %q, want release", got)
	}
	if st := e.state(t, job.Image.Digest); st.State != StateQueued || st.Attempt != 0 {
		t.Errorf("after shutdown state = %+v, want queued with no attempt counted", st)
	}
	e.reopen(t)
	if j := e.mustClaim(t, "next-run"); j.Attempt != 1 {
		t.Errorf("next run attempt %d, want 1", j.Attempt)
	}
}

// scanStatus calls io.atcr.hold.getScanStatus.
func (e *testEnv) scanStatus(t *testing.T, digest string) (int, atcr.HoldGetScanStatus_Output) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/xrpc/" + atcr.HoldGetScanStatusNSID + "?digest=" + digest)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out atcr.HoldGetScanStatus_Output
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, out
}

func TestGetScanStatus(t *testing.T) {
	e := newEnv(t)
	job := testJob(alice, 24)
	d := job.Image.Digest.String()
	want := func(state string, attempt int64) {
		t.Helper()
		status, out := e.scanStatus(t, d)
		got := int64(0)
		if out.Attempt != nil {
			got = *out.Attempt
		}
		if status != http.StatusOK || out.Digest != d || out.State != state || got != attempt {
			t.Errorf("getScanStatus = %d %+v (attempt %d), want %s attempt %d", status, out, got, state, attempt)
		}
	}
	want(StateNone, 0)
	e.enqueue(t, job)
	want(StateQueued, 0)
	j := e.mustClaim(t, "w1")
	want(StateScanning, 1)
	_ = e.q.Fail(t.Context(), "w1", j.ID, "x")
	want(StateQueued, 2)
	e.clock.Advance(time.Minute)
	j = e.mustClaim(t, "w1")
	_ = e.q.Finish(t.Context(), "w1", j.ID, Result{Status: StatusSkipped})
	want(StateNone, 0)
	for _, bad := range []string{"", "sha256:abc", "md5:" + strings.Repeat("a", 32), "sha256:" + strings.Repeat("A", 64)} {
		if status, _ := e.scanStatus(t, bad); status != http.StatusBadRequest {
			t.Errorf("digest %q: %d, want 400", bad, status)
		}
	}
}

// A caller that leaves mid-query (anyone can) is no failure of the hold:
// no ERROR line.
func TestGetScanStatusCallerGoneLogsNoError(t *testing.T) {
	e := newEnv(t)
	var logs syncbuf.Buffer
	e.opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.reopen(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/xrpc/"+atcr.HoldGetScanStatusNSID+"?digest="+testJob(alice, 24).Image.Digest.String(), nil)
	e.q.GetScanStatus(httptest.NewRecorder(), r)
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("a departed caller was logged as an error:\n%s", logs.String())
	}
}
