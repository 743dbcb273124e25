package gc

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

func TestSweepDeletesOnlyOldOrphans(t *testing.T) {
	e := newEnv(t)
	kept := e.putOldBlob("referenced layer")
	e.reference(kept, 16)
	config := e.putOldBlob(`{"config":true}`)
	e.reference(config, 15)
	orphan1 := e.putOldBlob("orphan one")
	orphan2 := e.putOldBlob("orphan two!")
	fresh := e.putBlob("uploaded just now, manifest not yet notified")

	rep, err := e.collector(nil).Run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Report{Scanned: 5, Referenced: 2, Orphans: 2, Kept: 1, Deleted: 2, FreedBytes: int64(len("orphan one") + len("orphan two!"))}
	if got := counts(rep); got != want {
		t.Errorf("report = %+v, want %+v", got, want)
	}
	for d, wantExists := range map[oci.Digest]bool{kept: true, config: true, fresh: true, orphan1: false, orphan2: false} {
		if e.exists(d) != wantExists {
			t.Errorf("%s exists = %v, want %v", d, !wantExists, wantExists)
		}
	}

	// A second run finds nothing more to do.
	rep, err = e.collector(nil).Run(t.Context(), Options{})
	if err != nil || rep.Deleted != 0 || rep.Scanned != 3 {
		t.Errorf("second run: %+v %v", rep, err)
	}
}

func TestDryRunDeletesNothingAndReportsTheSame(t *testing.T) {
	e := newEnv(t)
	ref := e.putOldBlob("referenced")
	e.reference(ref, 10)
	orphan := e.putOldBlob("orphan")
	e.putBlob("fresh")

	dry, err := e.collector(nil).Run(t.Context(), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !dry.DryRun || !e.exists(orphan) || !e.exists(ref) {
		t.Fatalf("dry run: %+v, orphan exists %v", dry, e.exists(orphan))
	}
	full, err := e.collector(nil).Run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if counts(dry) != counts(full) || full.Deleted != 1 || full.FreedBytes != int64(len("orphan")) {
		t.Errorf("dry run %+v, real run %+v: want the same counts", counts(dry), counts(full))
	}
	if e.exists(orphan) {
		t.Error("real run left the orphan")
	}
}

// Uploads in flight while GC runs are untouched: a multipart upload still
// receiving parts (staging key, never walked) and a completed blob whose
// manifest has not been notified (inside the grace window).
func TestConcurrentUploadIsUntouched(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	for i := range 50 {
		e.putOldBlob("old orphan " + string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	completed := e.putBlob("completed but not yet notified")
	stagingKey, err := s3.UploadKey("upload-in-flight")
	if err != nil {
		t.Fatal(err)
	}
	uploadID, err := e.s3.CreateMultipartUpload(ctx, stagingKey)
	if err != nil {
		t.Fatal(err)
	}
	part := make([]byte, s3.MinPartSize)
	var parts []s3.Part
	p1, err := e.s3.UploadPart(ctx, stagingKey, uploadID, 1, bytes.NewReader(part))
	if err != nil {
		t.Fatal(err)
	}
	parts = append(parts, p1)

	var wg sync.WaitGroup
	var rep Report
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		rep, runErr = e.collector(nil).Run(ctx, Options{})
	}()
	// The upload goes on while GC runs.
	p2, err := e.s3.UploadPart(ctx, stagingKey, uploadID, 2, bytes.NewReader([]byte("tail")))
	if err != nil {
		t.Fatal(err)
	}
	parts = append(parts, p2)
	wg.Wait()
	if runErr != nil {
		t.Fatal(runErr)
	}
	if rep.Deleted != 50 || rep.Kept != 1 {
		t.Errorf("report %+v, want 50 deleted and 1 kept", counts(rep))
	}
	if err := e.s3.CompleteMultipartUpload(ctx, stagingKey, uploadID, parts); err != nil {
		t.Fatalf("complete the upload after GC: %v", err)
	}
	info, err := e.s3.Stat(ctx, stagingKey)
	if err != nil || info.Size != int64(len(part)+len("tail")) {
		t.Errorf("staging object after GC: %+v %v", info, err)
	}
	if !e.exists(completed) {
		t.Error("completed-but-unnotified blob was deleted")
	}
}

// hookedBlobs runs a hook before the first Stat: the moment between the walk
// and the deletion of an orphan.
type hookedBlobs struct {
	*s3.S3Service
	once sync.Once
	hook func()
}

func (h *hookedBlobs) Stat(ctx context.Context, key string) (s3.ObjectInfo, error) {
	h.once.Do(h.hook)
	return h.S3Service.Stat(ctx, key)
}

// A layer record written after the mark (notifyManifest for a manifest whose
// blob was already stored) saves the blob.
func TestLayerRecordWrittenDuringSweepSavesBlob(t *testing.T) {
	e := newEnv(t)
	blob := e.putOldBlob("pushed long ago, referenced only now")
	other := e.putOldBlob("stays an orphan")
	blobs := &hookedBlobs{S3Service: e.s3, hook: func() { e.reference(blob, 36) }}

	rep, err := e.collector(blobs).Run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !e.exists(blob) || e.exists(other) || rep.Deleted != 1 || rep.Referenced != 1 {
		t.Errorf("report %+v; blob exists %v, other exists %v", counts(rep), e.exists(blob), e.exists(other))
	}
}

// A blob uploaded again after the walk (a fresh push of the same digest) is
// kept: its new modification time puts it inside the grace window.
func TestReuploadDuringSweepSavesBlob(t *testing.T) {
	e := newEnv(t)
	blob := e.putOldBlob("re-pushed during the sweep")
	blobs := &hookedBlobs{S3Service: e.s3, hook: func() { e.putBlob("re-pushed during the sweep") }}
	rep, err := e.collector(blobs).Run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !e.exists(blob) || rep.Deleted != 0 || rep.Kept != 1 {
		t.Errorf("report %+v; blob exists %v", counts(rep), e.exists(blob))
	}
}

func TestOneRunAtATime(t *testing.T) {
	e := newEnv(t)
	e.putOldBlob("orphan")
	c := e.collector(nil)
	var second error
	blobs := &hookedBlobs{S3Service: e.s3, hook: func() { _, second = c.Run(context.Background(), Options{}) }}
	c.blobs = blobs
	if _, err := c.Run(t.Context(), Options{}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(second, ErrRunning) {
		t.Errorf("concurrent Run: %v, want ErrRunning", second)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t)
	for name, cfg := range map[string]Config{
		"no grace":  {Records: e.pds, Blobs: e.s3, Pins: &e.pins},
		"no blobs":  {Records: e.pds, Pins: &e.pins, GracePeriod: grace},
		"no record": {Blobs: e.s3, Pins: &e.pins, GracePeriod: grace},
		"no pins":   {Records: e.pds, Blobs: e.s3, GracePeriod: grace},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// counts is a report without its timing and mode fields.
func counts(r Report) Report {
	return Report{Scanned: r.Scanned, Referenced: r.Referenced, Orphans: r.Orphans, Kept: r.Kept,
		Deleted: r.Deleted, Failed: r.Failed, FreedBytes: r.FreedBytes}
}

// The mark and the refresh read every page of layer records (100 a page).
func TestMarkAndRefreshReadEveryPage(t *testing.T) {
	e := newEnv(t)
	first := e.putOldBlob("referenced by the first record")
	e.reference(first, 1)
	for i := range 150 {
		e.reference(oci.FromBytes(oci.SHA256, []byte{byte(i)}), 1)
	}
	last := e.putOldBlob("referenced by the last record of the mark")
	e.reference(last, 1)
	late := e.putOldBlob("referenced after 150 more records, during the sweep")
	blobs := &hookedBlobs{S3Service: e.s3, hook: func() {
		for i := range 150 {
			e.reference(oci.FromBytes(oci.SHA256, []byte{byte(i), 1}), 1)
		}
		e.reference(late, 1)
	}}
	e.putOldBlob("orphan")
	rep, err := e.collector(blobs).Run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !e.exists(first) || !e.exists(last) || !e.exists(late) || rep.Deleted != 1 || rep.Referenced != 3 {
		t.Errorf("report %+v", counts(rep))
	}
}

// TestPinnedOrphansAreKept [H2]: an old unreferenced blob that a push
// referenced within the grace period (a HEAD, a mount, a re-upload) or an
// open upload names is kept, and the final check runs under the pins'
// lock.
func TestPinnedOrphansAreKept(t *testing.T) {
	e := newEnv(t)
	pinned, orphan := e.putBlob("pinned by a push"), e.putBlob("nobody wants me")
	e.pins.pinned = map[string]bool{pinned.String(): true}
	c := e.collector(nil)
	c.now = func() time.Time { return time.Now().Add(2 * grace) }
	rep, err := c.Run(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 1 || rep.Pinned != 1 || e.pins.locks != 2 {
		t.Fatalf("report %+v, %d locks; want the orphan deleted, the pinned blob kept, both checked under the lock", rep, e.pins.locks)
	}
	if _, err := e.s3.Stat(t.Context(), s3.BlobKey(pinned)); err != nil {
		t.Fatalf("pinned blob: %v", err)
	}
	if _, err := e.s3.Stat(t.Context(), s3.BlobKey(orphan)); err == nil {
		t.Fatal("orphan kept")
	}
}
