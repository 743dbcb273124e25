package scan

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

const (
	alice = "did:plc:alice0000000000000000000"
	bob   = "did:plc:bob00000000000000000000"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testEnv is a queue over a real PDS whose blobs go to the embedded S3
// (a bucket of its own), on a test clock.
type testEnv struct {
	svc   *s3.S3Service
	pds   *pds.PDS
	pub   *Publisher
	clock *testclock.Clock
	dir   string
	opts  QueueOptions
	q     *Queue
	srv   *httptest.Server // the PDS's and the queue's routes, no access checks
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	ctx := context.Background()
	svc, err := s3.New(ctx, gateway.FreshBucket("scan"))
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	if err := svc.EnsureBucket(ctx); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	svc.Logger = quietLogger()
	p, err := pds.Open(ctx, pds.Options{DataDir: t.TempDir(), PublicURL: "https://hold.example.com",
		Logger: quietLogger(), Validate: schema.ValidateRecord, Blobs: svc})
	if err != nil {
		t.Fatalf("pds.Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	e := &testEnv{svc: svc, pds: p, clock: testclock.New(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)), dir: t.TempDir()}
	e.pub = &Publisher{Repo: p, Now: e.clock.Now}
	e.opts = QueueOptions{
		DataDir: e.dir, Records: e.pub, JobTimeout: 10 * time.Minute, LeaseMargin: time.Minute,
		MaxAttempts: 3, RetryBackoff: time.Minute, Logger: quietLogger(), Now: e.clock.Now,
	}
	e.open(t)
	r := chi.NewRouter()
	for _, rt := range append(pds.NewHandlers(p).Routes(), e.q.Routes()...) {
		r.Method(rt.Method, rt.URLPath(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if rt.NSID == atcr.HoldGetScanStatusNSID {
				e.q.GetScanStatus(w, r) // the queue of the moment (reopened by tests)
				return
			}
			rt.Handler.ServeHTTP(w, r)
		}))
	}
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

// open opens the queue over the env's data dir.
func (e *testEnv) open(t testing.TB) {
	t.Helper()
	q, err := OpenQueue(context.Background(), e.opts)
	if err != nil {
		t.Fatalf("OpenQueue: %v", err)
	}
	e.q = q
	t.Cleanup(func() { q.Close() })
}

// reopen closes the queue and opens it again: a hold restart.
func (e *testEnv) reopen(t *testing.T) {
	t.Helper()
	if err := e.q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e.open(t)
}

// testJob is a job for an image manifest of owner; n makes the digest.
func testJob(owner string, n byte) Job {
	d := oci.FromBytes(oci.SHA256, []byte{'m', n})
	layer := oci.FromBytes(oci.SHA256, []byte{'l', n})
	return Job{
		Manifest: "at://" + owner + "/" + atcr.ManifestNSID + "/3kabcdefghi2" + string('a'+n%26),
		Owner:    owner, Repository: "app",
		Image: Image{Digest: d, MediaType: oci.MediaTypeOCIManifest,
			Layers: []oci.Descriptor{{MediaType: oci.MediaTypeOCILayerGzip, Digest: layer, Size: 3}}},
	}
}

func (e *testEnv) enqueue(t *testing.T, job Job) bool {
	t.Helper()
	queued, err := e.q.Enqueue(t.Context(), job)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return queued
}

// claimNow claims a due job without waiting; ok=false when none is due.
func (e *testEnv) claimNow(t *testing.T, worker string) (Job, bool) {
	t.Helper()
	job, ok, _, err := e.q.tryClaim(t.Context(), worker)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return job, ok
}

func (e *testEnv) mustClaim(t *testing.T, worker string) Job {
	t.Helper()
	job, ok := e.claimNow(t, worker)
	if !ok {
		t.Fatal("no job due, want one")
	}
	return job
}

// record reads the scan record of d; ok=false when there is none.
func (e *testEnv) record(t *testing.T, d oci.Digest) (atcr.HoldScan, bool) {
	t.Helper()
	m, _, err := e.pds.GetRecord(t.Context(), syntax.NSID(atcr.HoldScanNSID), RecordKey(d))
	if errors.Is(err, pds.ErrRecordNotFound) {
		return atcr.HoldScan{}, false
	}
	if err != nil {
		t.Fatalf("GetRecord: %v", err)
	}
	var rec atcr.HoldScan
	if err := atcr.FromMap(m, &rec); err != nil {
		t.Fatalf("decode scan record: %v", err)
	}
	return rec, true
}

func (e *testEnv) mustRecord(t *testing.T, d oci.Digest) atcr.HoldScan {
	t.Helper()
	rec, ok := e.record(t, d)
	if !ok {
		t.Fatalf("no scan record for %s", d)
	}
	return rec
}

// state is the queue's state of d.
func (e *testEnv) state(t *testing.T, d oci.Digest) JobState {
	t.Helper()
	st, err := e.q.State(t.Context(), d)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return st
}
