package uploads_test

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"atcr.io/internal/redistest"
	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/appview/uploads"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// twoAppViews is an env whose store and a second one (two AppViews) keep
// their upload sessions in one Redis, each through its own client.
func twoAppViews(t *testing.T, adjust func(*storage.Options)) (env *storagetest.Env, a, b *storage.Store, rdbA *redis.Client) {
	t.Helper()
	url := redistest.URL(t)
	client := func() *redis.Client {
		opt, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	rdbA = client()
	with := func(rdb *redis.Client) func(*storage.Options) {
		return func(o *storage.Options) {
			o.PartSize = uploads.MinPartSize
			o.Redis = rdb
			o.UploadLockTTL = time.Second
			if adjust != nil {
				adjust(o)
			}
		}
	}
	env = storagetest.NewEnv(t, storagetest.EnvOptions{S3: storagetest.EmbeddedS3(t), Store: with(rdbA)})
	return env, env.Store, env.NewStore(t, env.DB, with(client())), rdbA
}

// A blob whose chunks alternate between two AppViews — small ones kept as
// remainders, streamed ones cut into parts — completes bit-identical: the
// hold assembles the parts and verifies the sha256 itself.
func TestChunksAlternateBetweenAppViews(t *testing.T) {
	env, a, b, _ := twoAppViews(t, nil)
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	data := storagetest.RandomBytes(3*uploads.MinPartSize + 123_457)
	// Sizes; negative ones are streamed (size unknown). Two small chunks in
	// a row make the second AppView append to the remainder the first left.
	chunks := []int{700 << 10, 300 << 10, -(uploads.MinPartSize + 1), 300 << 10, -(2*uploads.MinPartSize - 5000), 1 << 20, 1, -len(data)} // the rest last
	up, err := a.StartUpload(ctx, repo, oci.Digest{})
	if err != nil {
		t.Fatal(err)
	}
	stores := []*storage.Store{a, b}
	off := 0
	for i, n := range chunks {
		end := min(off+max(n, -n), len(data))
		chunk := storagetest.Chunk(int64(off), data[off:end])
		if n < 0 {
			chunk = storagetest.Streamed(int64(off), data[off:end])
		}
		got, err := stores[i%2].WriteUpload(ctx, repo, up.ID, chunk)
		if err != nil || got.Offset != int64(end) {
			t.Fatalf("chunk %d on AppView %d: offset %d, %v; want %d", i, i%2, got.Offset, err, end)
		}
		// The other AppView sees what this one saved.
		if st, err := stores[(i+1)%2].GetUpload(ctx, repo, up.ID); err != nil || st.Offset != int64(end) {
			t.Fatalf("GET on the other AppView after chunk %d: %d, %v", i, st.Offset, err)
		}
		if off = end; off == len(data) {
			break
		}
	}
	d := oci.FromBytes(oci.SHA256, data)
	if n, err := b.FinishUpload(ctx, repo, up.ID, d); err != nil || n != int64(len(data)) {
		t.Fatalf("finish on the other AppView: %d, %v", n, err)
	}
	if !env.Hold.HasBlob(t, d) {
		t.Fatal("blob not stored")
	}
	if _, err := a.GetUpload(ctx, repo, up.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("finished session still answers: %v", err)
	}
	if a.BufferedBytes() != 0 || b.BufferedBytes() != 0 {
		t.Fatalf("memory kept after the upload: %d, %d", a.BufferedBytes(), b.BufferedBytes())
	}
}

// errCut is what reading a body cut mid-way gives.
var errCut = errors.New("connection reset by peer")

// cutBody yields data, running cut once after `after` bytes, then fails as
// a connection cut mid-body does.
type cutBody struct {
	data  []byte
	after int
	cut   func()
	read  int
}

func (c *cutBody) Read(p []byte) (int, error) {
	if c.read >= c.after {
		if c.cut != nil {
			c.cut()
			c.cut = nil
		}
		return 0, errCut
	}
	n := copy(p, c.data[c.read:c.after])
	c.read += n
	return n, nil
}

// An AppView that dies mid-PATCH (here: loses Redis, so it saves nothing
// more and never unlocks) leaves the session at its last part boundary —
// what its earlier PATCH saved, or a later boundary its checkpoints saved,
// never bytes it held in memory: the other AppView's GET reports that
// range, and once the dead one's lock expires the client resumes there and
// completes the blob.
func TestUploadResumesOnOtherAppViewAfterDeath(t *testing.T) {
	env, a, b, rdbA := twoAppViews(t, nil)
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	const part = uploads.MinPartSize
	data := storagetest.RandomBytes(6*part + 999)
	up, err := a.StartUpload(ctx, repo, oci.Digest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteUpload(ctx, repo, up.ID, storagetest.Streamed(0, data[:2*part])); err != nil {
		t.Fatal(err)
	}
	body := &cutBody{data: data[2*part:], after: 3*part + part/2, cut: func() { _ = rdbA.Close() }}
	_, err = a.WriteUpload(ctx, repo, up.ID, registry.Chunk{Start: 2 * part, Size: -1, Body: body})
	if !errors.Is(err, registry.ErrSharedStateUnavailable) {
		t.Fatalf("PATCH on the AppView that lost Redis: %v, want ErrSharedStateUnavailable", err)
	}
	st, err := b.GetUpload(ctx, repo, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Offset < 2*part || st.Offset%part != 0 || st.Offset > 2*part+int64(body.after) {
		t.Fatalf("range after the death: %d bytes, want a part boundary from %d on", st.Offset, 2*part)
	}
	resumeAndFinish(t, env, b, repo, up.ID, data, st.Offset)
}

// A client that goes away mid-PATCH leaves what arrived with the session
// (as without Redis); another AppView reports it and finishes the blob.
func TestUploadResumesOnOtherAppViewAfterClientCut(t *testing.T) {
	env, a, b, _ := twoAppViews(t, nil)
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	data := storagetest.RandomBytes(3*uploads.MinPartSize + 999)
	up, err := a.StartUpload(ctx, repo, oci.Digest{})
	if err != nil {
		t.Fatal(err)
	}
	body := &cutBody{data: data, after: 2*uploads.MinPartSize + 4321}
	if _, err := a.WriteUpload(ctx, repo, up.ID, registry.Chunk{Start: 0, Size: -1, Body: body}); !errors.Is(err, errCut) {
		t.Fatalf("cut PATCH: %v", err)
	}
	st, err := b.GetUpload(ctx, repo, up.ID)
	if err != nil || st.Offset != int64(body.after) {
		t.Fatalf("range after the cut: %d, %v; want %d", st.Offset, err, body.after)
	}
	resumeAndFinish(t, env, b, repo, up.ID, data, st.Offset)
}

func resumeAndFinish(t *testing.T, env *storagetest.Env, s *storage.Store, repo registry.Repo, id string, data []byte, from int64) {
	t.Helper()
	ctx := t.Context()
	got, err := s.WriteUpload(ctx, repo, id, registry.Chunk{Start: from, Size: -1, Body: bytes.NewReader(data[from:])})
	if err != nil || got.Offset != int64(len(data)) {
		t.Fatalf("resume at %d: %d, %v", from, got.Offset, err)
	}
	d := oci.FromBytes(oci.SHA256, data)
	if _, err := s.FinishUpload(ctx, repo, id, d); err != nil {
		t.Fatalf("finish after resuming: %v", err)
	}
	if !env.Hold.HasBlob(t, d) {
		t.Fatal("blob not stored")
	}
}

// The session caps count every AppView's sessions, and an idle session is
// swept — aborted on its hold — by one AppView only.
func TestSharedCapsAndSweep(t *testing.T) {
	clk := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	env, a, b, _ := twoAppViews(t, func(o *storage.Options) {
		o.MaxUploadsPerUser = 3
		o.Now = clk.Now
	})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	var ids []string
	for i, s := range []*storage.Store{a, b, a} {
		up, err := s.StartUpload(ctx, repo, oci.Digest{})
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		ids = append(ids, up.ID)
	}
	if _, err := b.StartUpload(ctx, repo, oci.Digest{}); !errors.Is(err, registry.ErrTooManyUploads) {
		t.Fatalf("fourth session of a user capped at three (two AppViews): %v", err)
	}
	if err := b.CancelUpload(ctx, repo, ids[0]); err != nil { // opened on a
		t.Fatal(err)
	}
	if _, err := a.GetUpload(ctx, repo, ids[0]); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("cancelled session still answers: %v", err)
	}
	clk.Advance(uploads.DefaultUploadTTL + time.Minute)
	// Both AppViews start an upload; one of them sweeps the two idle ones.
	for _, s := range []*storage.Store{a, b} {
		if _, err := s.StartUpload(ctx, repo, oci.Digest{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*storage.Store{a, b} {
		if err := s.Close(ctx); err != nil { // waits for background aborts
			t.Fatal(err)
		}
	}
	if n := env.Hold.Calls(atcr.HoldAbortUploadNSID); n != 3 { // the cancelled one, then the two swept
		t.Fatalf("%d aborts on the hold, want 3 (each session once)", n)
	}
	for _, id := range ids[1:] {
		if _, err := b.GetUpload(ctx, repo, id); !errors.Is(err, registry.ErrUploadUnknown) {
			t.Fatalf("swept session %s still answers: %v", id, err)
		}
	}
}

// pauseBody sends data, calling pause once when the first at bytes are
// read (it may block: the client stalls).
type pauseBody struct {
	data  []byte
	at    int
	pause func()
	read  int
}

func (b *pauseBody) Read(p []byte) (int, error) {
	if b.read >= b.at && b.pause != nil {
		b.pause()
		b.pause = nil
	}
	if b.read >= len(b.data) {
		return 0, io.EOF
	}
	end := len(b.data)
	if b.read < b.at {
		end = b.at
	}
	n := copy(p, b.data[b.read:end])
	b.read += n
	return n, nil
}

// A request whose session lock another AppView took (its own AppView
// stalled past the lock's TTL) is answered for the lost lock (503), not
// for the part send the loss cancelled (502 naming the hold or PDS, an
// ERROR line), and without a Range from its stale copy of the session.
func TestLostLockIsAnsweredAsSuch(t *testing.T) {
	env, a, _, rdbA := twoAppViews(t, nil)
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	const part = uploads.MinPartSize
	up, err := a.StartUpload(ctx, repo, oci.Digest{})
	if err != nil {
		t.Fatal(err)
	}
	body := &pauseBody{data: storagetest.RandomBytes(3 * part), at: part / 2, pause: func() {
		keys, err := rdbA.Keys(ctx, "*upload:"+up.ID+":lock").Result()
		if err != nil || len(keys) != 1 {
			t.Errorf("lock keys %v, %v", keys, err)
			return
		}
		if err := rdbA.Set(ctx, keys[0], "another AppView", 10*time.Second).Err(); err != nil {
			t.Error(err)
		}
		time.Sleep(1500 * time.Millisecond) // the renewal (every third of the 1 s TTL) notices
	}}
	got, err := a.WriteUpload(ctx, repo, up.ID, registry.Chunk{Start: 0, Size: -1, Body: body})
	if !errors.Is(err, registry.ErrSharedStateUnavailable) || errors.Is(err, registry.ErrHoldUnavailable) || errors.Is(err, registry.ErrPDSUnavailable) {
		t.Fatalf("PATCH whose lock was taken: %v, want only the lost lock (ErrSharedStateUnavailable)", err)
	}
	if got.ID != "" {
		t.Fatalf("PATCH whose lock was taken reports the session's stale state: %+v", got)
	}
}

// What one owner's sessions keep in Redis between requests is bounded
// (MaxParkedBytesPerUser): each PATCH reserves a part before it reads;
// past the bound it waits up to PartWait for room (a session finishing
// makes some), then is refused (429). Other owners are not affected, a
// PUT's last chunk is never refused, and concurrent PATCHes stay within
// the bound. Without it one account parked up to 100 × 5 MiB and, at
// Redis's maxmemory, every user's uploads failed.
func TestParkedRemaindersAreBoundedPerOwner(t *testing.T) {
	const part = uploads.MinPartSize // the env's part size
	env, a, b, rdb := twoAppViews(t, func(o *storage.Options) {
		o.MaxParkedBytesPerUser = 2 * part
		o.PartWait = 2 * time.Second
	})
	env.AddUser("alice.test")
	env.AddUser("bob.test")
	alice, bob := env.Repo(t, "alice.test/app"), env.Repo(t, "bob.test/app")
	ctx := t.Context()
	const chunk = 4 << 20 // under a part: parked
	start := func(s *storage.Store, repo registry.Repo) string {
		t.Helper()
		up, err := s.StartUpload(ctx, repo, oci.Digest{})
		if err != nil {
			t.Fatal(err)
		}
		return up.ID
	}
	var ids []string
	var data [][]byte
	for i := range 2 { // 4 + 4 MiB parked; the second PATCH reserved 4 + 5 of 10
		s := []*storage.Store{a, b}[i%2]
		id, d := start(s, alice), storagetest.RandomBytes(chunk)
		if _, err := s.WriteUpload(ctx, alice, id, storagetest.Streamed(0, d)); err != nil {
			t.Fatalf("chunk %d within the bound: %v", i, err)
		}
		ids, data = append(ids, id), append(data, d)
	}
	third := start(a, alice)
	if _, err := a.WriteUpload(ctx, alice, third, storagetest.Streamed(0, storagetest.RandomBytes(chunk))); !errors.Is(err, registry.ErrTooManyUploads) {
		t.Fatalf("PATCH past the owner's bound: %v, want ErrTooManyUploads after the wait", err)
	}
	other := start(a, bob)
	if _, err := a.WriteUpload(ctx, bob, other, storagetest.Streamed(0, storagetest.RandomBytes(chunk))); err != nil {
		t.Fatalf("another owner's PATCH: %v", err)
	}
	// A PUT's last chunk goes through, and the PUT frees its session's
	// share; a PATCH waiting for room gets it then.
	waiting := make(chan error, 1)
	go func() {
		_, err := b.WriteUpload(ctx, alice, third, storagetest.Streamed(0, storagetest.RandomBytes(chunk)))
		waiting <- err
	}()
	time.Sleep(50 * time.Millisecond)
	last := storagetest.RandomBytes(10)
	if _, err := b.WriteUpload(ctx, alice, ids[0], registry.Chunk{Start: chunk, Size: -1, Body: bytes.NewReader(last), Last: true}); err != nil {
		t.Fatalf("the last chunk of a PUT at the bound: %v", err)
	}
	if _, err := b.FinishUpload(ctx, alice, ids[0], oci.FromBytes(oci.SHA256, append(data[0], last...))); err != nil {
		t.Fatalf("PUT at the bound: %v", err)
	}
	if err := <-waiting; err != nil {
		t.Fatalf("the PATCH waiting for room after a session finished: %v", err)
	}
	// Cancelling frees a share too.
	for _, id := range []string{ids[1], third} {
		if err := a.CancelUpload(ctx, alice, id); err != nil {
			t.Fatal(err)
		}
	}
	// Concurrent PATCHes of one owner stay within the bound together.
	var wg sync.WaitGroup
	for i := range 6 {
		s := []*storage.Store{a, b}[i%2]
		id := start(s, alice)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = s.WriteUpload(ctx, alice, id, storagetest.Streamed(0, storagetest.RandomBytes(chunk)))
		}()
	}
	wg.Wait()
	vals, err := rdb.HVals(ctx, "atcr:uploads:parked:"+alice.Owner.DID.String()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var parked int64
	for _, v := range vals {
		n, _ := strconv.ParseInt(v, 10, 64)
		parked += n
	}
	if len(vals) == 0 || parked > 2*part {
		t.Fatalf("concurrent PATCHes left %d bytes parked in %d entries, the bound is %d", parked, len(vals), 2*part)
	}
}

// A part the hold took is saved at once, though the request waits for the
// client's next bytes: a resume on another AppView (this one dead or
// stalled) starts at that part's end. Saving only when the request next
// needed a send slot left the saved state one or two parts behind for as
// long as the client was slow.
func TestCheckpointFollowsTheParts(t *testing.T) {
	env, a, b, _ := twoAppViews(t, nil)
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	const part = uploads.MinPartSize
	data := storagetest.RandomBytes(3 * part)
	up, err := a.StartUpload(ctx, repo, oci.Digest{})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	body := &pauseBody{data: data, at: part + part/2, pause: func() { <-release }}
	written := make(chan error, 1)
	go func() {
		_, err := a.WriteUpload(ctx, repo, up.ID, registry.Chunk{Start: 0, Size: -1, Body: body})
		written <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := b.GetUpload(ctx, repo, up.ID)
		if err != nil {
			close(release)
			t.Fatal(err)
		}
		if st.Offset == part {
			break
		}
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("the other AppView reports %d bytes while the client waits after part 1; want %d (part 1 saved)", st.Offset, part)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	d := oci.FromBytes(oci.SHA256, data)
	if _, err := b.FinishUpload(ctx, repo, up.ID, d); err != nil {
		t.Fatal(err)
	}
	if !env.Hold.HasBlob(t, d) {
		t.Fatal("blob not stored")
	}
}
