package embedded

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"atcr.io/pkg/s3"
)

// consumePart appends the part and removes its file; a part it could not
// copy stays for versitygw's own copy to finish.
func TestConsumePart(t *testing.T) {
	dir := t.TempDir()
	partPath := filepath.Join(dir, "1")
	if err := os.WriteFile(partPath, []byte("part one"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "object"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := out.WriteString("head:"); err != nil {
		t.Fatal(err)
	}
	part, err := os.Open(partPath)
	if err != nil {
		t.Fatal(err)
	}
	defer part.Close()
	idempotent, err := consumePart(part, out)
	if err != nil || idempotent {
		t.Fatalf("consumePart = %v, %v; want not idempotent, no error", idempotent, err)
	}
	if _, err := os.Stat(partPath); !os.IsNotExist(err) {
		t.Fatalf("the consumed part is still there: %v", err)
	}
	if got, _ := os.ReadFile(out.Name()); string(got) != "head:part one" {
		t.Fatalf("object = %q", got)
	}

	// A destination that cannot be written: the part stays.
	if err := os.WriteFile(partPath, []byte("part two"), 0o600); err != nil {
		t.Fatal(err)
	}
	part2, err := os.Open(partPath)
	if err != nil {
		t.Fatal(err)
	}
	defer part2.Close()
	readOnly, err := os.Open(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()
	if _, err := consumePart(part2, readOnly); err == nil {
		t.Fatal("consumePart into a read-only file succeeded")
	}
	if _, err := os.Stat(partPath); err != nil {
		t.Fatalf("a part that was not copied was removed: %v", err)
	}
}

// A completion the server refuses (a wrong part ETag) is refused before any
// part is consumed, so the client can still complete with the right list;
// the assembled object has every byte in order.
func TestCompletionRefusedBeforeConsuming(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir(), ChecksumETags: true})
	svc := service(t, srv)
	ctx := t.Context()
	key := "uploads/consume/data"
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	var parts []s3.Part
	for i, size := range []int{s3.MinPartSize, s3.MinPartSize, 1234} {
		chunk := bytes.Repeat([]byte{byte('a' + i)}, size)
		want.Write(chunk)
		p, err := svc.UploadPart(ctx, key, id, int32(i+1), bytes.NewReader(chunk))
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		parts = append(parts, p)
	}
	bad := append([]s3.Part(nil), parts...)
	bad[2].ETag = bad[1].ETag
	if err := svc.CompleteMultipartUpload(ctx, key, id, bad); err == nil {
		t.Fatal("completion with a wrong ETag for the last part succeeded")
	}
	if err := svc.CompleteMultipartUpload(ctx, key, id, parts); err != nil {
		t.Fatalf("completion after a refused one: %v", err)
	}
	rc, info, err := svc.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || info.Size != int64(want.Len()) || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("assembled object: %d bytes (size %d), equal %v, err %v", len(got), info.Size, bytes.Equal(got, want.Bytes()), err)
	}
}

// A whole object's body reaches the gateway as a plain reader: no sendfile
// (see getobject.go), and the same bytes.
func TestGetObjectBodyIsAPlainReader(t *testing.T) {
	srv := startServer(t, Options{DataDir: t.TempDir()})
	svc := service(t, srv)
	data := bytes.Repeat([]byte("plain "), 50_000)
	if err := svc.PutBytes(t.Context(), "blobs/plain/data", data); err != nil {
		t.Fatal(err)
	}
	bucket, key := srv.creds.Bucket, "blobs/plain/data"
	out, err := srv.backend.GetObject(t.Context(), &awss3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer out.Body.Close()
	if _, ok := out.Body.(io.WriterTo); ok {
		t.Fatalf("body %T offers WriteTo: the gateway would sendfile it", out.Body)
	}
	if _, ok := out.Body.(*os.File); ok {
		t.Fatal("body is the *os.File itself")
	}
	got, err := io.ReadAll(out.Body)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("body: %d bytes, equal %v, err %v", len(got), bytes.Equal(got, data), err)
	}
}
