package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

const (
	testSecret = "0123456789abcdef0123456789abcdef-test"
	testHold   = "did:web:hold.example.com"
	// patience guards waits on other goroutines; reaching it is a failure,
	// not a timing the tests rely on.
	patience = 30 * time.Second
)

// env is one test's hold: a bucket with an image's blobs, the
// subscription on a real HTTP server, and the Dispatcher behind it.
type env struct {
	t       *testing.T
	s3      *s3.S3Service
	rec     *recorder
	enqueue func(scan.Job) int64
	handler *Handler
	srv     *httptest.Server
	image   scan.Image
	blobs   map[string][]byte // by digest
	jobs    int
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T, mutate ...func(*HandlerOptions)) *env {
	t.Helper()
	svc, err := s3.New(t.Context(), gateway.FreshBucket("remote"))
	if err != nil {
		t.Fatal(err)
	}
	svc.Logger = quietLogger()
	if err := svc.EnsureBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, s3: svc, blobs: map[string][]byte{}}
	put := func(mediaType string, data []byte) oci.Descriptor {
		d := oci.FromBytes(oci.SHA256, data)
		if err := svc.PutBytes(t.Context(), s3.BlobKey(d), data); err != nil {
			t.Fatal(err)
		}
		e.blobs[d.String()] = data
		return oci.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
	}
	e.image = scan.Image{
		Digest:    oci.FromBytes(oci.SHA256, []byte("manifest")),
		MediaType: "application/vnd.oci.image.manifest.v1+json",
		Config:    put("application/vnd.oci.image.config.v1+json", []byte(`{"architecture":"amd64","os":"linux"}`)),
		Layers: []oci.Descriptor{
			put("application/vnd.oci.image.layer.v1.tar+gzip", bytes.Repeat([]byte("layer one "), 1000)),
			put("application/vnd.oci.image.layer.v1.tar+gzip", bytes.Repeat([]byte("layer two "), 3000)),
		},
	}
	d, enqueue := newTestDispatcher(t)
	e.rec, e.enqueue = newRecorder(d), enqueue
	opts := HandlerOptions{
		Dispatcher: e.rec, Presigner: &S3Presigner{S3: svc, TTL: time.Hour},
		Secret: testSecret, HoldDID: testHold, Logger: quietLogger(),
	}
	for _, m := range mutate {
		m(&opts)
	}
	e.handler, err = NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range e.handler.Routes() {
		mux.Handle(rt.Method+" "+rt.URLPath(), rt.Handler)
	}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		e.handler.Close()
		e.srv.Close()
	})
	return e
}

// addJob queues a scan of the env's image, under a manifest digest of
// its own so the scanner can tell jobs apart.
func (e *env) addJob() int64 {
	e.jobs++
	img := e.image
	img.Digest = oci.FromBytes(oci.SHA256, fmt.Appendf(nil, "manifest %d", e.jobs))
	return e.enqueue(scan.Job{
		Manifest:   "at://did:plc:owner/io.atcr.manifest/3kabc",
		Owner:      "did:plc:owner",
		Repository: "app",
		Image:      img,
	})
}

// startWorker runs RunWorker against the env until the returned stop is
// called (or the test ends); stop waits for it to return.
func (e *env) startWorker(name string, sc scan.Scanner, mutate ...func(*WorkerOptions)) (stop func() error) {
	ctx, cancel := context.WithCancel(e.t.Context())
	done := make(chan error, 1)
	opts := WorkerOptions{
		HoldURL: e.srv.URL, Secret: testSecret, Name: name, Scanner: sc,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: quietLogger(),
	}
	for _, m := range mutate {
		m(&opts)
	}
	go func() { done <- RunWorker(ctx, opts) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(patience):
				err = fmt.Errorf("worker %s did not stop", name)
			}
		})
		return err
	}
	e.t.Cleanup(func() { _ = stop() })
	return stop
}

// waitFinished waits for n accepted results.
func (e *env) waitFinished(n int) []finish {
	e.t.Helper()
	var got []finish
	for len(got) < n {
		select {
		case f := <-e.rec.finished:
			got = append(got, f)
		case <-time.After(patience):
			e.t.Fatalf("%d of %d jobs finished", len(got), n)
		}
	}
	return got
}

// dial connects as a worker by hand, for tests of the wire itself.
func (e *env) dial(worker, cursor string) *websocket.Conn {
	e.t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(e.wsURL(worker, cursor), http.Header{SecretHeader: {testSecret}})
	if err != nil {
		e.t.Fatalf("dial: %v (%v)", err, resp)
	}
	e.t.Cleanup(func() { conn.Close() })
	return conn
}

func (e *env) wsURL(worker, cursor string) string {
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/xrpc/" + string(NSID) + "?worker=" + worker
	if cursor != "" {
		u += "&cursor=" + cursor
	}
	return u
}

// readJob reads the next message and requires it to be a job.
func readJob(t *testing.T, conn *websocket.Conn) *atcr.HoldSubscribeScanJobs_ScanJob {
	t.Helper()
	typ, v := readMessage(t, conn)
	job, ok := v.(*atcr.HoldSubscribeScanJobs_ScanJob)
	if !ok {
		t.Fatalf("got %s, want a #scanJob", typ)
	}
	return job
}

func readMessage(t *testing.T, conn *websocket.Conn) (string, any) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(patience))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	typ, v, err := decode(data, map[string]func() any{
		typeScanJob: func() any { return new(atcr.HoldSubscribeScanJobs_ScanJob) },
		typeInfo:    func() any { return new(atcr.HoldSubscribeScanJobs_Info) },
		typeError:   func() any { return new(atcr.HoldSubscribeScanJobs_Error) },
	})
	if err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return typ, v
}

func sendJSON(t *testing.T, conn *websocket.Conn, typ string, body any) {
	t.Helper()
	data, err := encode(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, data); err != nil {
		t.Fatal(err)
	}
}

// fakeScanner reads every blob of the image through Blobs, checks each
// against its digest, and returns a completed result naming the job's
// manifest. Jobs it started are announced on started; with block set it
// then waits for its context to end.
type fakeScanner struct {
	name    string
	block   bool
	fail    error           // returned instead of a result
	gate    <-chan struct{} // waited for before each scan, when set
	started chan<- started
	mu      sync.Mutex
	scanned []oci.Digest
}

type started struct {
	worker   string
	manifest oci.Digest
}

func (f *fakeScanner) Scan(ctx context.Context, img scan.Image, blobs scan.Blobs) (scan.Result, error) {
	if f.started != nil {
		f.started <- started{f.name, img.Digest}
	}
	if f.block {
		<-ctx.Done()
		return scan.Result{}, ctx.Err()
	}
	if f.fail != nil {
		return scan.Result{}, f.fail
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return scan.Result{}, ctx.Err()
		}
	}
	for _, d := range append([]oci.Descriptor{img.Config}, img.Layers...) {
		rc, err := blobs.Open(ctx, d.Digest)
		if err != nil {
			return scan.Result{}, err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return scan.Result{}, err
		}
		if got := oci.FromBytes(oci.SHA256, data); got != d.Digest || int64(len(data)) != d.Size {
			return scan.Result{Status: scan.StatusFailed, Reason: "blob " + d.Digest.String() + " does not match"}, nil
		}
	}
	f.mu.Lock()
	f.scanned = append(f.scanned, img.Digest)
	f.mu.Unlock()
	report, _ := json.Marshal(map[string]string{"scannedBy": f.name, "manifest": img.Digest.String()})
	return scan.Result{
		Status: scan.StatusCompleted, Counts: scan.Counts{Critical: 1, High: 2, Total: 5},
		Report: report, SBOM: []byte(`{"spdxVersion":"SPDX-2.3"}`),
		ScannerVersion: "fake-v1", DBBuilt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	}, nil
}
