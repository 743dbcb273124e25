package gc

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
	"atcr.io/pkg/s3/embedded"
	"atcr.io/pkg/s3/embedded/embeddedtest"
)

// gateway is the embedded versitygw server shared by the tests (one per
// process).
var gateway *embeddedtest.Gateway

func TestMain(m *testing.M) {
	os.Exit(embeddedtest.Run(m, embedded.Options{}, &gateway))
}

const grace = time.Hour

// env is one test's hold: a real PDS and a fresh bucket on the gateway.
type env struct {
	t      testing.TB
	pds    *pds.PDS
	s3     *s3.S3Service
	bucket string
	pins   fakePins
}

func newEnv(t testing.TB) *env {
	t.Helper()
	p, err := pds.Open(t.Context(), pds.Options{DataDir: t.TempDir(), PublicURL: "https://hold.example.com",
		Logger: quietLogger(), Validate: schema.ValidateRecord})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	params := gateway.FreshBucket("gc")
	svc, err := s3.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	svc.Logger = quietLogger()
	if err := svc.EnsureBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, pds: p, s3: svc, bucket: params.Bucket}
}

// fakePins pins the digests in pinned; LockBlobs counts its uses.
type fakePins struct {
	mu     sync.Mutex
	pinned map[string]bool
	locks  int
	// collected lists the digests Collected was told of.
	collected []string
}

func (p *fakePins) LockBlobs() func() {
	p.mu.Lock()
	p.locks++
	return p.mu.Unlock
}

// Collected records the digests GC deleted.
func (p *fakePins) Collected(_ context.Context, digest string) error {
	p.collected = append(p.collected, digest)
	return nil
}

// Pinned is called with LockBlobs held.
func (p *fakePins) Pinned(_ context.Context, digest string, _ time.Time) (bool, error) {
	return p.pinned[digest], nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (e *env) collector(blobs Blobs) *Collector {
	e.t.Helper()
	if blobs == nil {
		blobs = e.s3
	}
	c, err := New(Config{Records: e.pds, Blobs: blobs, Pins: &e.pins, GracePeriod: grace, Logger: quietLogger()})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// putBlob stores content at its content-addressed key and returns its digest.
func (e *env) putBlob(content string) oci.Digest {
	e.t.Helper()
	d := oci.FromBytes(oci.SHA256, []byte(content))
	if err := e.s3.PutBytes(e.t.Context(), s3.BlobKey(d), []byte(content)); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// putOldBlob stores a blob last modified two grace periods ago, by setting
// the mtime of the embedded server's file (versitygw reports it as
// LastModified).
func (e *env) putOldBlob(content string) oci.Digest {
	e.t.Helper()
	d := e.putBlob(content)
	e.backdate(s3.BlobKey(d))
	return d
}

func (e *env) backdate(key string) {
	e.t.Helper()
	old := time.Now().Add(-2 * grace)
	path := filepath.Join(gateway.Dir, "s3", e.bucket, filepath.FromSlash(key))
	if err := os.Chtimes(path, old, old); err != nil {
		e.t.Fatal(err)
	}
	info, err := e.s3.Stat(e.t.Context(), key)
	if err != nil || info.LastModified.After(time.Now().Add(-grace)) {
		e.t.Fatalf("backdating %s did not take: %+v %v", key, info, err)
	}
}

// reference writes a layer record for d, as notifyManifest does.
func (e *env) reference(d oci.Digest, size int64) {
	e.t.Helper()
	rec, err := atcr.ToMap(atcr.HoldLayer{Digest: d.String(), Size: size, MediaType: "application/octet-stream",
		Manifest: "at://did:plc:alicealicealicealicealic/io.atcr.manifest/abc", UserDID: "did:plc:alicealicealicealicealic",
		CreatedAt: syntax.DatetimeNow().String()})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.pds.CreateRecord(context.Background(), layerCollection, "", rec); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) exists(d oci.Digest) bool {
	e.t.Helper()
	_, err := e.s3.Stat(e.t.Context(), s3.BlobKey(d))
	return err == nil
}
