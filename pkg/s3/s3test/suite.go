package s3test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// Run exercises every S3Service method. newService must return a service
// over a fresh, empty bucket on every call (listing tests count objects) with
// a working Presigner whose URLs plain net/http can fetch.
func Run(t *testing.T, newService func(t *testing.T) *s3.S3Service) {
	t.Run("Bucket", func(t *testing.T) { testBucket(t, newService(t)) })
	t.Run("ObjectLifecycle", func(t *testing.T) { testObjectLifecycle(t, newService(t)) })
	t.Run("InvalidKeysRefused", func(t *testing.T) { testInvalidKeys(t, newService(t)) })
	t.Run("PutStreaming", func(t *testing.T) { testPutStreaming(t, newService(t)) })
	t.Run("PutFailureLeavesNothing", func(t *testing.T) { testPutFailure(t, newService(t)) })
	t.Run("Move", func(t *testing.T) { testMove(t, newService(t)) })
	t.Run("MoveMultipartCopy", func(t *testing.T) { testMoveMultipartCopy(t, newService(t)) })
	t.Run("MultipartThroughService", func(t *testing.T) { testMultipartThroughService(t, newService(t)) })
	t.Run("MultipartAbort", func(t *testing.T) { testMultipartAbort(t, newService(t)) })
	t.Run("MultipartPresignedParts", func(t *testing.T) { testMultipartPresignedParts(t, newService(t)) })
	t.Run("PresignPutGet", func(t *testing.T) { testPresignPutGet(t, newService(t)) })
	t.Run("PresignExpired", func(t *testing.T) { testPresignExpired(t, newService(t)) })
	t.Run("WalkBlobs", func(t *testing.T) { testWalkBlobs(t, newService(t)) })
	t.Run("ListPrefix", func(t *testing.T) { testListPrefix(t, newService(t)) })
}

func testBucket(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	for range 2 { // idempotent
		if err := svc.EnsureBucket(ctx); err != nil {
			t.Fatalf("EnsureBucket: %v", err)
		}
	}
	if err := svc.CheckBucket(ctx); err != nil {
		t.Fatalf("CheckBucket: %v", err)
	}
}

func testObjectLifecycle(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	data := []byte("hello, blob store")
	key := s3.BlobKey(oci.FromBytes(oci.SHA256, data))
	if err := svc.PutBytes(ctx, key, data); err != nil {
		t.Fatalf("PutBytes: %v", err)
	}
	info, err := svc.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Size != int64(len(data)) || info.Key != key || !isQuoted(info.ETag) || info.LastModified.IsZero() {
		t.Errorf("Stat = %+v, want size %d, quoted ETag, a modification time", info, len(data))
	}
	if got, size := readAll(t, svc, key); !bytes.Equal(got, data) || size != int64(len(data)) {
		t.Errorf("Open read %q (announced %d), want %q", got, size, data)
	}
	if err := svc.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := svc.Stat(ctx, key); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("Stat after Delete: err = %v, want ErrNotFound", err)
	}
	if _, _, err := svc.Open(ctx, key); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("Open after Delete: err = %v, want ErrNotFound", err)
	}
	if err := svc.Delete(ctx, key); err != nil {
		t.Errorf("second Delete of a missing key: %v (want nil, as S3)", err)
	}
	if err := svc.PutBytes(ctx, "uploads/empty/data", nil); err != nil {
		t.Fatalf("PutBytes of an empty object: %v", err)
	}
	if info, err := svc.Stat(ctx, "uploads/empty/data"); err != nil || info.Size != 0 {
		t.Errorf("Stat of empty object = %+v, %v", info, err)
	}
}

func testInvalidKeys(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	for _, key := range []string{"", "../etc/passwd", "blobs/../x", "/abs", "a//b", "a/./b", "a\\b", "a\x00b", strings.Repeat("k", 1025)} {
		checks := map[string]error{
			"Stat":     func() error { _, err := svc.Stat(ctx, key); return err }(),
			"PutBytes": svc.PutBytes(ctx, key, []byte("x")),
			"Put":      func() error { _, err := svc.Put(ctx, key, strings.NewReader("x")); return err }(),
			"Open":     func() error { _, _, err := svc.Open(ctx, key); return err }(),
			"Delete":   svc.Delete(ctx, key),
			"MoveSrc":  svc.Move(ctx, key, "uploads/ok/data"),
			"MoveDst":  svc.Move(ctx, "uploads/ok/data", key),
			"Create":   func() error { _, err := svc.CreateMultipartUpload(ctx, key); return err }(),
			"Presign":  func() error { _, err := svc.PresignGet(ctx, key, 0); return err }(),
		}
		for name, err := range checks {
			if !errors.Is(err, s3.ErrInvalidKey) {
				t.Errorf("%s(%.20q): err = %v, want ErrInvalidKey", name, key, err)
			}
		}
	}
	if err := svc.ListPrefix(ctx, "../", func(s3.ObjectInfo) error { return nil }); !errors.Is(err, s3.ErrInvalidKey) {
		t.Errorf("ListPrefix(../): err = %v, want ErrInvalidKey", err)
	}
	if err := svc.Move(ctx, "uploads/same/data", "uploads/same/data"); !errors.Is(err, s3.ErrInvalidKey) {
		t.Errorf("Move onto itself: err = %v, want ErrInvalidKey", err)
	}
	if _, err := svc.UploadPart(ctx, "uploads/x/data", "", 1, bytes.NewReader(nil)); !errors.Is(err, s3.ErrInvalidKey) {
		t.Errorf("UploadPart with empty upload ID: err = %v, want ErrInvalidKey", err)
	}
	if _, err := svc.PresignUploadPart(ctx, "uploads/x/data", "id", 10001, -1, 0); !errors.Is(err, s3.ErrInvalidKey) {
		t.Errorf("PresignUploadPart part 10001: err = %v, want ErrInvalidKey", err)
	}
	if err := svc.ListPrefix(ctx, "", func(o s3.ObjectInfo) error { t.Errorf("refused call left object %q", o.Key); return nil }); err != nil {
		t.Errorf("ListPrefix: %v", err)
	}
}
