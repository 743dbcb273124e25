package s3_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"atcr.io/pkg/s3"
	"atcr.io/pkg/s3/s3test"
)

func TestSuiteMock(t *testing.T) {
	s3test.Run(t, func(t *testing.T) *s3.S3Service {
		mock := s3.NewMockS3Client()
		srv := httptest.NewServer(mock.Handler())
		t.Cleanup(srv.Close)
		svc, err := s3.NewWithClient(mock, s3.MockPresigner(srv.URL), s3.Params{Bucket: "mock-bucket"})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.EnsureBucket(t.Context()); err != nil {
			t.Fatal(err)
		}
		return svc
	})
}

func TestSuiteEmbeddedVersityGW(t *testing.T) {
	s3test.Run(t, func(t *testing.T) *s3.S3Service { return newGatewayService(t) })
}

// TestPresignedPartLengthBinds: a part URL presigned for n bytes is refused
// by the S3 server for any other length (the hold counts n against the
// user's staging limit before it hands the URL out), and works for n.
func TestPresignedPartLengthBinds(t *testing.T) {
	svc := newGatewayService(t)
	if !svc.CanPresign() {
		t.Fatal("a service built by New cannot presign")
	}
	ctx := t.Context()
	key := "uploads/signed-length/data"
	id, err := svc.CreateMultipartUpload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1 << 20
	url, err := svc.PresignUploadPart(ctx, key, id, 1, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(url, "content-length") {
		t.Fatalf("URL does not sign the length: %s", url)
	}
	put := func(size int) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(s3test.Pattern(7, size)))
		if err != nil {
			return 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err // the server may refuse before it has read the body, and reset
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for _, size := range []int{n + 1, n - 1, 4 * n} {
		status, err := put(size)
		t.Logf("PUT of %d bytes: status %d, err %v", size, status, err)
		if err == nil && status != http.StatusForbidden {
			t.Errorf("PUT of %d bytes to a URL signed for %d: status %d, want 403 or a refused connection", size, n, status)
		}
	}
	if status, err := put(n); err != nil || status != http.StatusOK {
		t.Fatalf("PUT of the signed %d bytes: status %d, err %v", n, status, err)
	}
}
