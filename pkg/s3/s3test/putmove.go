package s3test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"atcr.io/pkg/s3"
)

func testPutStreaming(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	svc.PutPartSize = 5 * MiB
	cases := []struct {
		name  string
		size  int64
		parts int // 0: one PutObject
	}{
		{"empty", 0, 0},
		{"small", 1234, 0},
		{"exactly one part", 5 * MiB, 1},
		{"three parts", 12*MiB + 1, 3},
	}
	for i, tc := range cases {
		key := "uploads/put-" + string(rune('a'+i)) + "/data"
		n, err := svc.Put(ctx, key, PatternReader(uint64(i), tc.size))
		if err != nil {
			t.Fatalf("%s: Put: %v", tc.name, err)
		}
		if n != tc.size {
			t.Errorf("%s: Put returned %d bytes, want %d", tc.name, n, tc.size)
		}
		info, err := svc.Stat(ctx, key)
		if err != nil || info.Size != tc.size {
			t.Fatalf("%s: Stat = %+v, %v; want size %d", tc.name, info, err, tc.size)
		}
		if tc.parts > 0 && !isMultipartETag(info.ETag, tc.parts) {
			t.Errorf("%s: ETag %s, want a %d-part multipart ETag", tc.name, info.ETag, tc.parts)
		}
		if tc.parts == 0 && isMultipartETag(info.ETag, 1) {
			t.Errorf("%s: ETag %s looks multipart for a single PutObject", tc.name, info.ETag)
		}
		if got, want := objectSHA256(t, svc, key), PatternSHA256(uint64(i), tc.size); got != want {
			t.Errorf("%s: stored sha256 %s, want %s", tc.name, got, want)
		}
	}
}

// failingReader yields n good bytes, then an error.
type failingReader struct {
	r io.Reader
}

var errBrokenInput = errors.New("input broke")

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errBrokenInput
	}
	return n, err
}

func testPutFailure(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	svc.PutPartSize = 5 * MiB
	key := "uploads/broken/data"
	_, err := svc.Put(ctx, key, &failingReader{r: PatternReader(7, 11*MiB)})
	if !errors.Is(err, errBrokenInput) {
		t.Fatalf("Put of a failing reader: err = %v, want the reader's error", err)
	}
	if _, err := svc.Stat(ctx, key); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("after a failed Put, Stat err = %v, want ErrNotFound (upload aborted)", err)
	}
}

func testMove(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	data := Pattern(1, 4096)
	src, dst := "uploads/mv/data", "blobs/sha256/aa/moved/data"
	if err := svc.PutBytes(ctx, src, data); err != nil {
		t.Fatal(err)
	}
	if err := svc.Move(ctx, src, dst); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if _, err := svc.Stat(ctx, src); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("source still there after Move: %v", err)
	}
	if got, _ := readAll(t, svc, dst); !bytes.Equal(got, data) {
		t.Errorf("destination holds %d bytes that differ from the source", len(got))
	}
	// Overwrite an existing destination.
	if err := svc.PutBytes(ctx, src, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if err := svc.Move(ctx, src, dst); err != nil {
		t.Fatalf("Move onto an existing key: %v", err)
	}
	if got, _ := readAll(t, svc, dst); string(got) != "v2" {
		t.Errorf("after overwrite destination = %q, want v2", got)
	}
	if err := svc.Move(ctx, "uploads/missing/data", "uploads/elsewhere/data"); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("Move of a missing source: err = %v, want ErrNotFound", err)
	}
}

func testMoveMultipartCopy(t *testing.T, svc *s3.S3Service) {
	ctx := t.Context()
	const size = 12 * MiB
	svc.MultipartCopyThreshold = 5 * MiB
	svc.CopyPartSize = 5 * MiB
	src, dst := "uploads/bigmv/data", "uploads/bigmv-dst/data"
	if _, err := svc.Put(ctx, src, PatternReader(2, size)); err != nil {
		t.Fatal(err)
	}
	if err := svc.Move(ctx, src, dst); err != nil {
		t.Fatalf("Move above the multipart-copy threshold: %v", err)
	}
	info, err := svc.Stat(ctx, dst)
	if err != nil || info.Size != size {
		t.Fatalf("Stat dst = %+v, %v", info, err)
	}
	// 12 MiB in 5 MiB ranges is 3 UploadPartCopy parts.
	if !isMultipartETag(info.ETag, 3) {
		t.Errorf("dst ETag %s: want a 3-part multipart ETag, so the copy was not multipart", info.ETag)
	}
	if got, want := objectSHA256(t, svc, dst), PatternSHA256(2, size); got != want {
		t.Errorf("moved object sha256 %s, want %s", got, want)
	}
	if _, err := svc.Stat(ctx, src); !errors.Is(err, s3.ErrNotFound) {
		t.Errorf("source still there after multipart Move: %v", err)
	}
	// Below the threshold the same service copies in one request.
	if err := svc.PutBytes(ctx, src, Pattern(3, MiB)); err != nil {
		t.Fatal(err)
	}
	if err := svc.Move(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	if info, _ := svc.Stat(ctx, dst); isMultipartETag(info.ETag, 1) {
		t.Errorf("small Move produced multipart ETag %s", info.ETag)
	}
}
