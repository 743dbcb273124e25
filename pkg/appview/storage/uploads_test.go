package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// upload pushes data through Start/Write/Finish in chunks of step bytes.
func upload(t *testing.T, s *storage.Store, repo registry.Repo, data []byte, step int) oci.Digest {
	t.Helper()
	ctx := t.Context()
	up, err := s.StartUpload(ctx, repo, oci.Digest{})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	for off := 0; off < len(data); off += step {
		end := min(off+step, len(data))
		if _, err := s.WriteUpload(ctx, repo, up.ID, int64(off), bytes.NewReader(data[off:end])); err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
	}
	d := oci.FromBytes(oci.SHA256, data)
	n, err := s.FinishUpload(ctx, repo, up.ID, d)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("finish: %d, %v", n, err)
	}
	return d
}

// TestEmbeddedS3AcceptsSmallLastParts runs uploads against versitygw, which
// checks S3's multipart rules and SigV4 for real: an empty blob (one empty
// part), a blob smaller than a part (one small part), and one whose last
// part is small.
func TestEmbeddedS3AcceptsSmallLastParts(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{
		S3:    storagetest.EmbeddedS3(t),
		Store: func(o *storage.Options) { o.PartSize = storage.MinPartSize },
	})
	env.AddUser("alice.test")
	repo := repoOf(t, env, "alice.test/app")
	for _, size := range []int{0, 1, 1000, storage.MinPartSize, storage.MinPartSize + 7} {
		data := randomBytes(size)
		d := upload(t, env.Store, repo, data, 1<<20)
		if !env.Hold.HasBlob(t, d) {
			t.Fatalf("%d-byte blob not stored", size)
		}
		n, err := env.Store.StatBlob(t.Context(), repo, d, true)
		if err != nil || n != int64(size) {
			t.Fatalf("stat %d-byte blob: %d, %v", size, n, err)
		}
	}
	want := []int{1, 1, 1, 1, 2}
	for i, c := range env.Hold.Completed() {
		if c.Parts != want[i] {
			t.Errorf("upload %d (%d bytes): %d parts, want %d", i, c.Size, c.Parts, want[i])
		}
	}
}

func TestExpiredSessionsAreAborted(t *testing.T) {
	clk := newClock()
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.Now = clk.Now }})
	env.AddUser("alice.test")
	repo := repoOf(t, env, "alice.test/app")
	ctx := t.Context()
	first, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	second, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	if _, err := env.Store.WriteUpload(ctx, repo, first.ID, 0, bytes.NewReader(randomBytes(100))); err != nil {
		t.Fatal(err)
	}
	clk.Advance(storage.DefaultUploadTTL + time.Minute)

	// Touching an expired session ends it at once.
	if _, err := env.Store.GetUpload(ctx, repo, first.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("GetUpload of an expired session: %v", err)
	}
	if env.Hold.Calls(atcr.HoldAbortUploadNSID) != 1 {
		t.Fatal("expired session not aborted on the hold")
	}
	// An untouched one is swept when the next upload starts.
	if _, err := env.Store.StartUpload(ctx, repo, oci.Digest{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Close(ctx); err != nil { // waits for background aborts
		t.Fatal(err)
	}
	if _, err := env.Store.GetUpload(ctx, repo, second.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("swept session still answers: %v", err)
	}
	if env.Hold.OpenUploads() != 0 {
		t.Fatalf("%d uploads left open on the hold", env.Hold.OpenUploads())
	}
}

func TestUploadCapacity(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) {
		o.PartSize = storage.MinPartSize
		o.MaxBufferedBytes = storage.MinPartSize // one part buffer for everyone
		o.PartWait = 50 * time.Millisecond
		o.MaxUploadsPerUser = 2
	}})
	env.AddUser("alice.test")
	repo := repoOf(t, env, "alice.test/app")
	ctx := t.Context()
	a, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	b, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	if _, err := env.Store.StartUpload(ctx, repo, oci.Digest{}); !errors.Is(err, registry.ErrTooManyUploads) {
		t.Fatalf("third session for one user: %v", err)
	}
	// a keeps a remainder in the only buffer: b must wait, then gets 429.
	if _, err := env.Store.WriteUpload(ctx, repo, a.ID, 0, bytes.NewReader(randomBytes(1000))); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.WriteUpload(ctx, repo, b.ID, 0, bytes.NewReader(randomBytes(10))); !errors.Is(err, registry.ErrTooManyUploads) {
		t.Fatalf("write without a free buffer: %v", err)
	}
	// Finishing a returns the buffer.
	if err := env.Store.CancelUpload(ctx, repo, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.WriteUpload(ctx, repo, b.ID, 0, bytes.NewReader(randomBytes(10))); err != nil {
		t.Fatalf("write after the buffer was freed: %v", err)
	}
}

func TestRangeAndRepositoryChecks(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	env.AddUser("alice.test")
	repo := repoOf(t, env, "alice.test/app")
	ctx := t.Context()
	up, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	if _, err := env.Store.WriteUpload(ctx, repo, up.ID, 0, bytes.NewReader([]byte("abc"))); err != nil {
		t.Fatal(err)
	}
	st, err := env.Store.WriteUpload(ctx, repo, up.ID, 5, bytes.NewReader([]byte("x")))
	if !errors.Is(err, registry.ErrRangeInvalid) || st.Offset != 3 {
		t.Fatalf("gap: %+v, %v", st, err)
	}
	if _, err := env.Store.GetUpload(ctx, repoOf(t, env, "alice.test/other"), up.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("session visible from another repository: %v", err)
	}
}

func TestPrivateHoldReadsAsCaller(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice := env.AddUser("alice.test")
	repo := repoOf(t, env, "alice.test/app")
	d := upload(t, env.Store, repo, []byte("private bytes"), 100)
	env.Hold.SetPrivate(true)

	anon := context.Background()
	if _, err := env.Store.BlobURL(anon, repo, d); !errors.Is(err, registry.ErrHoldRefused) {
		t.Fatalf("anonymous read of a private hold: %v", err)
	}
	asAlice := access.WithGrant(t.Context(), &access.Grant{Subject: alice.DID})
	if _, err := env.Store.BlobURL(asAlice, repo, d); err != nil {
		t.Fatalf("read as alice: %v", err)
	}
	// The presigned URL is cached per caller: asking again does not reach the hold.
	before := env.Hold.Calls("com.atproto.sync.getBlob")
	if _, err := env.Store.BlobURL(asAlice, repo, d); err != nil {
		t.Fatal(err)
	}
	if env.Hold.Calls("com.atproto.sync.getBlob") != before {
		t.Fatal("presigned URL not reused")
	}
}
