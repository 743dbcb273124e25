package embedded

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"atcr.io/pkg/s3"
)

// syncLog records what the server syncs and, for each path, whether it
// existed at that moment.
type syncLog struct {
	mu     sync.Mutex
	synced []string
}

func watchSyncs(t *testing.T) *syncLog {
	t.Helper()
	l := &syncLog{}
	f := func(path string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.synced = append(l.synced, path)
	}
	onSync.Store(&f)
	t.Cleanup(func() { onSync.Store(nil) })
	return l
}

// take returns what was synced since the last take.
func (l *syncLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.synced
	l.synced = nil
	return out
}

// requireSynced fails unless every path in want was synced.
func requireSynced(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Fatalf("%s: %s was not synced; synced: %q", what, w, got)
		}
	}
}

// M4 (issue 11): every object the embedded server reports written is on the
// disk first: its file, the directory holding its name, and the parent of
// every directory made for it. A multipart completion, a PutObject, a
// CopyObject and a Move each sync before they answer — except writes of the
// hold's staging objects (uploads/...), which Move makes durable on their way
// to their content-addressed key, before the hold reports them complete.
func TestWritesAreSynced(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, Options{DataDir: dir, ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()
	bucket := filepath.Join(dir, "s3", DefaultBucket)
	path := func(key string) string { return filepath.Join(bucket, filepath.FromSlash(key)) }
	log := watchSyncs(t)

	// A multipart completion into new directories: the assembled file,
	// its directory, and the parents of the new directories.
	if err := stageMultipart(t, svc, "objects/durable/data", []byte("assembled, then synced")); err != nil {
		t.Fatal(err)
	}
	requireSynced(t, "CompleteMultipartUpload", log.take(), path("objects/durable/data"), path("objects/durable"), path("objects"), bucket)

	// A staging completion is left to Move.
	staging := "uploads/durable/data"
	if err := stageMultipart(t, svc, staging, []byte("assembled, synced when moved")); err != nil {
		t.Fatal(err)
	}
	if got := log.take(); slices.Contains(got, path(staging)) {
		t.Fatalf("a staging completion was synced: %q", got)
	}

	// PutObject and CopyObject, into a directory that exists and one that
	// does not.
	if err := svc.PutBytes(ctx, "objects/put/data", []byte("put, then synced")); err != nil {
		t.Fatal(err)
	}
	requireSynced(t, "PutObject", log.take(), path("objects/put/data"), path("objects/put"), path("objects"))
	if err := svc.Move(ctx, "objects/put/data", "blobs/copied/data"); err != nil { // CopyObject + DeleteObject
		t.Fatal(err)
	}
	requireSynced(t, "CopyObject", log.take(), path("blobs/copied/data"), path("blobs/copied"), path("blobs"), bucket)

	// Server.Move: the file before the rename (it is still at the source),
	// the destination's directory and the new directories' parents after.
	var fileSyncedAtSource, dirSyncedWithFile bool
	blob := "blobs/sha256/ab/abcdef/data"
	f := func(p string) {
		_, srcErr := os.Stat(path(staging))
		_, dstErr := os.Stat(path(blob))
		switch p {
		case path(staging):
			fileSyncedAtSource = srcErr == nil && dstErr != nil
		case path("blobs/sha256/ab/abcdef"):
			dirSyncedWithFile = dstErr == nil
		}
	}
	onSync.Store(&f)
	if err := srv.Move(ctx, staging, blob); err != nil {
		t.Fatal(err)
	}
	if !fileSyncedAtSource || !dirSyncedWithFile {
		t.Fatalf("Move: file synced before the rename %v, directory synced after it %v", fileSyncedAtSource, dirSyncedWithFile)
	}
	log = watchSyncs(t)
	if err := svc.PutBytes(ctx, "uploads/again/data", []byte("x")); err != nil {
		t.Fatal(err)
	}
	log.take()
	if err := srv.Move(ctx, "uploads/again/data", "blobs/sha256/ab/012345/data"); err != nil {
		t.Fatal(err)
	}
	requireSynced(t, "Move", log.take(), path("uploads/again/data"), path("blobs/sha256/ab/012345"), path("blobs/sha256/ab"))
}

// Move over an existing object replaces it whole: the hold puts a verified
// copy over a blob key whose object it no longer trusts (a torn file
// after a crash). The old object's bytes and metadata are gone, the new
// ones in place, the staging key empty.
func TestMoveReplacesExisting(t *testing.T) {
	for _, sidecar := range []bool{false, true} {
		t.Run(map[bool]string{false: "xattr", true: "sidecar"}[sidecar], func(t *testing.T) {
			forceSideCar = sidecar
			t.Cleanup(func() { forceSideCar = false })
			srv := startServer(t, Options{DataDir: t.TempDir(), ChecksumETags: true})
			svc := service(t, srv)
			ctx := t.Context()
			blob, staging := "blobs/sha256/cd/cdef/data", "uploads/replace/data"
			if err := svc.PutBytes(ctx, blob, []byte("torn")); err != nil {
				t.Fatal(err)
			}
			good := bytes.Repeat([]byte("verified "), 1000)
			if err := svc.PutBytes(ctx, staging, good); err != nil {
				t.Fatal(err)
			}
			want, err := svc.Stat(ctx, staging)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Move(ctx, staging, blob); err != nil {
				t.Fatalf("Move over an existing object: %v", err)
			}
			got, err := svc.Stat(ctx, blob)
			if err != nil || got.Size != int64(len(good)) || got.ETag != want.ETag {
				t.Fatalf("after the replace Stat = %+v, %v; want size %d, ETag %s", got, err, len(good), want.ETag)
			}
			if _, err := svc.Stat(ctx, staging); err == nil {
				t.Fatal("the staging object is still there")
			}
			rc, _, err := srv.Open(ctx, blob)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			var buf bytes.Buffer
			if _, err := buf.ReadFrom(rc); err != nil || !bytes.Equal(buf.Bytes(), good) {
				t.Fatalf("replaced object reads %d bytes, want the verified %d", buf.Len(), len(good))
			}
		})
	}
}

// A completion the server refuses leaves no directory behind for its key.
func TestRefusedWriteLeavesNoDirectory(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, Options{DataDir: dir, ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()
	key := "uploads/refused/data"
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UploadPart(ctx, key, id, 1, bytes.NewReader([]byte("part"))); err != nil {
		t.Fatal(err)
	}
	if err := svc.CompleteMultipartUpload(ctx, key, id, []s3.Part{{Number: 1, ETag: "not-the-etag"}}); err == nil {
		t.Fatal("completion with a wrong ETag succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "s3", DefaultBucket, "uploads")); !os.IsNotExist(err) {
		t.Fatalf("a refused completion left uploads/ behind: %v", err)
	}
}
