package pds

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"atcr.io/pkg/s3"
)

// testBlobStore is a bucket of its own on the embedded S3 server.
func testBlobStore(t *testing.T) *s3.S3Service {
	t.Helper()
	svc, err := s3.New(context.Background(), gateway.FreshBucket("pdsblobs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc.Logger = quietLogger()
	return svc
}

// bucketKeys lists every key in the bucket.
func bucketKeys(t *testing.T, svc *s3.S3Service) []string {
	t.Helper()
	var keys []string
	if err := svc.ListPrefix(t.Context(), "", func(o s3.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestBlobsAreStoredInS3(t *testing.T) {
	ctx := context.Background()
	svc := testBlobStore(t)
	p := openTestPDS(t, "", func(o *Options) { o.Blobs = svc })
	data := bytes.Repeat([]byte("report "), 100_000) // 700 KB, streamed
	blob, err := p.UploadBlob(ctx, "application/vnd.atcr.vulnerabilities+json", bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatalf("UploadBlob: %v", err)
	}
	if blob.Size != int64(len(data)) || blob.MimeType != "application/vnd.atcr.vulnerabilities+json" {
		t.Errorf("blob = %+v", blob)
	}
	cid := blob.Ref.String()
	if keys := bucketKeys(t, svc); len(keys) != 1 || keys[0] != BlobKeyPrefix+cid+"/data" {
		t.Fatalf("bucket holds %v, want only %s", keys, BlobKeyPrefix+cid+"/data")
	}
	var rows int
	if err := p.db.QueryRow(`SELECT COUNT(*) FROM blobs`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("blob bytes in SQLite too: %d rows (%v)", rows, err)
	}
	// The same bytes again: one object, the same reference.
	again, err := p.UploadBlob(ctx, "application/vnd.atcr.vulnerabilities+json", bytes.NewReader(data), 1<<20)
	if err != nil || again.Ref.String() != cid {
		t.Fatalf("second upload: %v %v", again.Ref, err)
	}
	if keys := bucketKeys(t, svc); len(keys) != 1 {
		t.Errorf("after a duplicate upload the bucket holds %v", keys)
	}

	srv := startServer(t, p)
	resp, err := http.Get(srv.URL + "/xrpc/com.atproto.sync.getBlob?did=" + p.DID().String() + "&cid=" + cid)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) ||
		resp.Header.Get("Content-Type") != "application/vnd.atcr.vulnerabilities+json" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("getBlob: %d, %d bytes, headers %v", resp.StatusCode, len(body), resp.Header)
	}
	head, err := http.Head(srv.URL + "/xrpc/com.atproto.sync.getBlob?did=" + p.DID().String() + "&cid=" + cid)
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK || head.ContentLength != int64(len(data)) {
		t.Errorf("HEAD getBlob: %d, length %d", head.StatusCode, head.ContentLength)
	}
}

func TestOversizedBlobLeavesNothing(t *testing.T) {
	svc := testBlobStore(t)
	svc.PutPartSize = s3.MinPartSize // the limit falls inside the second part
	p := openTestPDS(t, "", func(o *Options) { o.Blobs = svc })
	limit := int64(s3.MinPartSize + 10)
	_, err := p.UploadBlob(t.Context(), "application/json", bytes.NewReader(make([]byte, limit+1)), limit)
	if !errors.Is(err, ErrBlobTooLarge) {
		t.Fatalf("UploadBlob over the limit: %v, want ErrBlobTooLarge", err)
	}
	if keys := bucketKeys(t, svc); len(keys) != 0 {
		t.Errorf("a refused upload left %v", keys)
	}
	if _, err := p.UploadBlob(t.Context(), "application/json", bytes.NewReader(make([]byte, limit)), limit); err != nil {
		t.Errorf("UploadBlob at the limit: %v", err)
	}
}

func TestBlobsInSQLiteStayReadable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old := openTestPDS(t, dir) // a hold from before blobs moved to S3
	legacy, err := old.UploadBlob(ctx, "application/spdx+json", strings.NewReader(`{"spdxVersion":"SPDX-2.3"}`), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	old.Close()

	svc := testBlobStore(t)
	p := openTestPDS(t, dir, func(o *Options) { o.Blobs = svc })
	data, mime, err := p.GetBlob(ctx, legacy.Ref.String())
	if err != nil || string(data) != `{"spdxVersion":"SPDX-2.3"}` || mime != "application/spdx+json" {
		t.Fatalf("legacy blob: %q %q %v", data, mime, err)
	}
	if _, _, err := p.GetBlob(ctx, "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"); !errors.Is(err, ErrBlobNotFound) {
		t.Errorf("unknown blob: %v", err)
	}
}
