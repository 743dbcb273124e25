package s3test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"atcr.io/pkg/s3"
)

func testMultipartThroughService(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	key := "uploads/mp-service/data"
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	first, second := Pattern(10, 5*MiB), Pattern(11, 1024)
	p1, err := svc.UploadPart(ctx, key, id, 1, bytes.NewReader(first))
	if err != nil {
		t.Fatalf("UploadPart 1: %v", err)
	}
	p2, err := svc.UploadPart(ctx, key, id, 2, bytes.NewReader(second))
	if err != nil {
		t.Fatalf("UploadPart 2: %v", err)
	}
	if p1.Number != 1 || p1.Size != 5*MiB || !isQuoted(p1.ETag) {
		t.Errorf("UploadPart 1 = %+v", p1)
	}
	listed, err := svc.ListParts(ctx, key, id)
	if err != nil {
		t.Fatalf("ListParts: %v", err)
	}
	if len(listed) != 2 || listed[0].Number != 1 || listed[1].Size != 1024 || listed[0].ETag != p1.ETag {
		t.Errorf("ListParts = %+v, want parts 1 (%s) and 2 (1024 bytes)", listed, p1.ETag)
	}
	// Out of order and with the quotes stripped, as a careless client might
	// send them: the service sorts and re-quotes.
	p1.ETag, p2.ETag = strings.Trim(p1.ETag, `"`), strings.Trim(p2.ETag, `"`)
	if err := svc.CompleteMultipartUpload(ctx, key, id, []s3.Part{p2, p1}); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	got, _ := readAll(t, svc, key)
	if !bytes.Equal(got, append(first, second...)) {
		t.Errorf("assembled object (%d bytes) differs from the parts", len(got))
	}
	if _, err := svc.ListParts(ctx, key, id); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("ListParts after completion: err = %v, want ErrNotFound", err)
	}
}

func testMultipartAbort(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	key := "uploads/mp-abort/data"
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.UploadPart(ctx, key, id, 1, bytes.NewReader([]byte("part")))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AbortMultipartUpload(ctx, key, id); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	if _, err := svc.ListParts(ctx, key, id); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("ListParts after abort: err = %v, want ErrNotFound", err)
	}
	if err := svc.CompleteMultipartUpload(ctx, key, id, []s3.Part{p}); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("Complete after abort: err = %v, want ErrNotFound", err)
	}
	if _, err := svc.Stat(ctx, key); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("aborted upload left an object: %v", err)
	}
	if err := svc.AbortMultipartUpload(ctx, key, "no-such-upload"); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("Abort of an unknown upload: err = %v, want ErrNotFound", err)
	}
}

// testMultipartPresignedParts is the push path: a client PUTs each part to a
// presigned URL with plain net/http, the service completes the upload, and
// the result's sha256 must match what was sent.
func testMultipartPresignedParts(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	const size = 12 * MiB
	sizes := []int64{5 * MiB, 5 * MiB, 2 * MiB}
	key := "uploads/mp-presigned/data"
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	all := Pattern(20, size)
	var parts []s3.Part
	var off int64
	for i, n := range sizes {
		num := int32(i + 1)
		url, err := svc.PresignUploadPart(ctx, key, id, num, n, 0)
		if err != nil {
			t.Fatalf("PresignUploadPart %d: %v", num, err)
		}
		status, hdr, body := do(t, http.MethodPut, url, bytes.NewReader(all[off:off+n]), n)
		if status != http.StatusOK {
			t.Fatalf("PUT part %d: status %d: %s", num, status, body)
		}
		parts = append(parts, s3.Part{Number: num, ETag: hdr.Get("ETag")})
		off += n
	}
	if err := svc.CompleteMultipartUpload(ctx, key, id, parts); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if got, want := objectSHA256(t, svc, key), sha256Hex(all); got != want {
		t.Errorf("assembled sha256 %s, want %s", got, want)
	}
	if info, err := svc.Stat(ctx, key); err != nil || info.Size != size || !isMultipartETag(info.ETag, 3) {
		t.Errorf("Stat = %+v, %v; want %d bytes in 3 parts", info, err, size)
	}
}
