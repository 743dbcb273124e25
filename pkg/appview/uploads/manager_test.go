package uploads_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/appview/uploads"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// TestEmbeddedS3AcceptsSmallLastParts runs uploads against versitygw, which
// checks S3's multipart rules and SigV4 for real: an empty blob (one empty
// part), a blob smaller than a part (one small part), and one whose last
// part is small.
func TestEmbeddedS3AcceptsSmallLastParts(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{
		S3:    storagetest.EmbeddedS3(t),
		Store: func(o *storage.Options) { o.PartSize = uploads.MinPartSize },
	})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	for _, size := range []int{0, 1, 1000, uploads.MinPartSize, uploads.MinPartSize + 7} {
		data := storagetest.RandomBytes(size)
		d := storagetest.Upload(t, env.Store, repo, data, 1<<20)
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
	clk := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.Now = clk.Now }})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	first, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	second, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	if _, err := env.Store.WriteUpload(ctx, repo, first.ID, storagetest.Chunk(0, storagetest.RandomBytes(100))); err != nil {
		t.Fatal(err)
	}
	clk.Advance(uploads.DefaultUploadTTL + time.Minute)

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

// Idle sessions hold only their remainders, counted by size: many open
// sessions with a small remainder each (what the conformance suite leaves
// behind) never pin whole part buffers, and a new stream still gets one.
func TestIdleSessionsHoldOnlyTheirBytes(t *testing.T) {
	const sessions, remainder = 20, 1<<20 + 1
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) {
		o.PartSize = uploads.MinPartSize
		o.MaxBufferedBytes = 32 << 20 // six part buffers; 20 idle remainders must fit besides
		o.MaxBufferedBytesPerUser = 32 << 20
		o.PartWait = 50 * time.Millisecond
	}})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	data := storagetest.RandomBytes(remainder)
	var ids []string
	for range sessions {
		up, err := env.Store.StartUpload(ctx, repo, oci.Digest{})
		if err != nil {
			t.Fatal(err)
		}
		// Streamed (size unknown): it is read through a whole part buffer.
		if _, err := env.Store.WriteUpload(ctx, repo, up.ID, storagetest.Streamed(0, data)); err != nil {
			t.Fatalf("session %d: %v", len(ids), err)
		}
		ids = append(ids, up.ID)
	}
	if got, want := env.Store.BufferedBytes(), int64(sessions*remainder); got != want {
		t.Fatalf("idle sessions hold %d bytes, want exactly their remainders (%d)", got, want)
	}
	d := oci.FromBytes(oci.SHA256, data)
	for _, id := range ids {
		if _, err := env.Store.FinishUpload(ctx, repo, id, d); err != nil {
			t.Fatal(err)
		}
	}
	if got := env.Store.BufferedBytes(); got != 0 {
		t.Fatalf("%d bytes still held after every session finished", got)
	}
}

func TestUploadCapacity(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) {
		o.PartSize = uploads.MinPartSize
		o.MaxBufferedBytes = uploads.MinPartSize // one part buffer for everyone
		o.PartWait = 50 * time.Millisecond
		o.MaxUploadsPerUser = 3
	}})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	a, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	b, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	c, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	if _, err := env.Store.StartUpload(ctx, repo, oci.Digest{}); !errors.Is(err, registry.ErrTooManyUploads) {
		t.Fatalf("fourth session for one user: %v", err)
	}
	// Small remainders cost their size: a and b both fit.
	if _, err := env.Store.WriteUpload(ctx, repo, a.ID, storagetest.Chunk(0, storagetest.RandomBytes(1000))); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.WriteUpload(ctx, repo, b.ID, storagetest.Chunk(0, storagetest.RandomBytes(10))); err != nil {
		t.Fatalf("small chunk next to another session's remainder: %v", err)
	}
	// A streamed chunk needs a whole part buffer, which the remainders
	// leave no room for: it waits PartWait, then 429.
	if _, err := env.Store.WriteUpload(ctx, repo, c.ID, storagetest.Streamed(0, storagetest.RandomBytes(10))); !errors.Is(err, registry.ErrTooManyUploads) {
		t.Fatalf("stream without room for a part buffer: %v", err)
	}
	// Ending a and b returns their memory.
	if err := env.Store.CancelUpload(ctx, repo, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CancelUpload(ctx, repo, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.WriteUpload(ctx, repo, c.ID, storagetest.Streamed(0, storagetest.RandomBytes(10))); err != nil {
		t.Fatalf("stream after the memory was freed: %v", err)
	}
}

// Drain (shutdown) ends a wait for upload memory at once: the chunk gets
// 429 instead of holding the shutdown for PartWait.
func TestDrainEndsWaitsForMemory(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) {
		o.PartSize = uploads.MinPartSize
		o.MaxBufferedBytes = uploads.MinPartSize
		o.PartWait = time.Hour // only Drain can end the wait
	}})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	a, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	b, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	if _, err := env.Store.WriteUpload(ctx, repo, a.ID, storagetest.Chunk(0, storagetest.RandomBytes(1000))); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := env.Store.WriteUpload(ctx, repo, b.ID, storagetest.Streamed(0, storagetest.RandomBytes(10)))
		done <- err
	}()
	env.Store.Drain()
	if err := <-done; !errors.Is(err, registry.ErrTooManyUploads) {
		t.Fatalf("write waiting for memory after Drain: %v", err)
	}
	if err := env.Store.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if env.Hold.OpenUploads() != 0 {
		t.Fatalf("%d uploads left open on the hold after Close", env.Hold.OpenUploads())
	}
}

// A remainder of at least MinPartSize is sent as a part when its request
// ends, so an idle session never holds one; parts sent while the stream
// goes on, small chunks and the final PUT all land in order.
func TestChunkedUploadParts(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{S3: storagetest.EmbeddedS3(t)})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	data := storagetest.RandomBytes(2*uploads.DefaultPartSize + uploads.MinPartSize + 300)
	up, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	chunks := []int{uploads.MinPartSize + 100, 2 * uploads.DefaultPartSize, 100, 100}
	off := 0
	for i, n := range chunks {
		c := storagetest.Streamed(int64(off), data[off:off+n])
		if i >= 2 {
			c = storagetest.Chunk(int64(off), data[off:off+n])
		}
		st, err := env.Store.WriteUpload(ctx, repo, up.ID, c)
		off += n
		if err != nil || st.Offset != int64(off) {
			t.Fatalf("chunk %d: %+v, %v", i, st, err)
		}
		if i < 2 && env.Store.BufferedBytes() != 0 {
			t.Fatalf("after chunk %d the session still holds %d bytes", i, env.Store.BufferedBytes())
		}
	}
	d := oci.FromBytes(oci.SHA256, data)
	if n, err := env.Store.FinishUpload(ctx, repo, up.ID, d); err != nil || n != int64(len(data)) {
		t.Fatalf("finish: %d, %v", n, err)
	}
	// Parts: the 5 MiB+100 remainder, two whole parts, then the 200 bytes.
	if c := env.Hold.Completed(); len(c) != 1 || c[0].Parts != 4 || c[0].Digest != d {
		t.Fatalf("completed uploads: %+v", c)
	}
}

// Parts whose send fails stay in memory and are sent again, under their
// numbers, by the next request; the upload then completes intact.
// TestFailedPartRewinds: a part whose send fails releases its memory at
// once (a failing hold cannot pin upload memory) and takes the session
// back to the part's start, which the client learns from the answer and
// resumes from.
func TestFailedPartRewinds(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.PartSize = uploads.MinPartSize }})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	data := storagetest.RandomBytes(3*uploads.MinPartSize + 10)
	up, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	// One part gets through, then the hold goes down.
	if _, err := env.Store.WriteUpload(ctx, repo, up.ID, storagetest.Chunk(0, data[:uploads.MinPartSize])); err != nil {
		t.Fatal(err)
	}
	env.Hold.SetDown(true)
	st, err := env.Store.WriteUpload(ctx, repo, up.ID, storagetest.Streamed(uploads.MinPartSize, data[uploads.MinPartSize:]))
	if err == nil || st.Offset != uploads.MinPartSize {
		t.Fatalf("write with the hold down: %+v, %v; want the offset rewound to the failed part's start %d", st, err, uploads.MinPartSize)
	}
	if got := env.Store.BufferedBytes(); got != 0 {
		t.Fatalf("%d bytes held after the failed send", got)
	}
	if got, err := env.Store.GetUpload(ctx, repo, up.ID); err != nil || got.Offset != uploads.MinPartSize {
		t.Fatalf("GET after the failure: %+v, %v", got, err)
	}
	env.Hold.SetDown(false)
	if _, err := env.Store.WriteUpload(ctx, repo, up.ID, storagetest.Streamed(st.Offset, data[st.Offset:])); err != nil {
		t.Fatalf("resume at %d: %v", st.Offset, err)
	}
	d := oci.FromBytes(oci.SHA256, data)
	if n, err := env.Store.FinishUpload(ctx, repo, up.ID, d); err != nil || n != int64(len(data)) {
		t.Fatalf("finish after the hold came back: %d, %v", n, err)
	}
	if !env.Hold.HasBlob(t, d) {
		t.Fatal("blob not stored")
	}
	if got := env.Store.BufferedBytes(); got != 0 {
		t.Fatalf("%d bytes still held", got)
	}
}

func TestRangeAndRepositoryChecks(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	up, _ := env.Store.StartUpload(ctx, repo, oci.Digest{})
	if _, err := env.Store.WriteUpload(ctx, repo, up.ID, storagetest.Chunk(0, []byte("abc"))); err != nil {
		t.Fatal(err)
	}
	st, err := env.Store.WriteUpload(ctx, repo, up.ID, storagetest.Chunk(5, []byte("x")))
	if !errors.Is(err, registry.ErrRangeInvalid) || st.Offset != 3 {
		t.Fatalf("gap: %+v, %v", st, err)
	}
	if _, err := env.Store.GetUpload(ctx, env.Repo(t, "alice.test/other"), up.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("session visible from another repository: %v", err)
	}
}

func TestPrivateHoldReadsAsCaller(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice := env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	d := storagetest.Upload(t, env.Store, repo, []byte("private bytes"), 100)
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

// stalledBody sends one byte, then nothing until release is closed: a
// client that stops sending in the middle of a PATCH.
type stalledBody struct {
	sent    bool
	release <-chan struct{}
}

func (b *stalledBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		p[0] = 'x'
		return 1, nil
	}
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

// TestOneAccountCannotTakeEveryonesMemory: an account whose PATCH bodies
// stall holds at most its share of the upload memory, so another account's
// push still streams.
func TestOneAccountCannotTakeEveryonesMemory(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) {
		o.PartSize = uploads.MinPartSize
		o.MaxBufferedBytes = 8 * uploads.MinPartSize
		o.MaxBufferedBytesPerUser = 4 * uploads.MinPartSize
		o.PartWait = 50 * time.Millisecond
	}})
	env.AddUser("mallory.test")
	env.AddUser("bob.test")
	mallory, bob := env.Repo(t, "mallory.test/x"), env.Repo(t, "bob.test/app")
	ctx := t.Context()
	release := make(chan struct{})
	var stalled sync.WaitGroup
	refused := make(chan error, 20)
	for range 20 {
		up, err := env.Store.StartUpload(ctx, mallory, oci.Digest{})
		if err != nil {
			t.Fatal(err)
		}
		stalled.Add(1)
		go func() {
			defer stalled.Done()
			_, err := env.Store.WriteUpload(ctx, mallory, up.ID, registry.Chunk{Start: 0, Size: -1, Body: &stalledBody{release: release}})
			if errors.Is(err, registry.ErrTooManyUploads) {
				refused <- err
			}
		}()
	}
	defer func() { close(release); stalled.Wait() }()
	// Four of mallory's chunks hold a part buffer each; the others are
	// refused once they have waited PartWait for her share.
	deadline := time.Now().Add(10 * time.Second)
	for len(refused) < 16 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := env.Store.BufferedBytes(); got > 4*uploads.MinPartSize {
		t.Fatalf("mallory's stalled chunks hold %d bytes, more than her share", got)
	}
	data := storagetest.RandomBytes(3*uploads.MinPartSize + 10)
	d := storagetest.Upload(t, env.Store, bob, data, len(data))
	if !env.Hold.HasBlob(t, d) {
		t.Fatal("bob's blob not stored")
	}
}
