package storagetest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"atcr.io/pkg/s3"
	"atcr.io/pkg/s3/embedded"
)

// MockS3 returns a service over s3.MockS3Client whose presigned URLs are
// served by the mock's HTTP handler. Objects live in memory.
func MockS3(t testing.TB) *s3.S3Service {
	t.Helper()
	mock := s3.NewMockS3Client("atcr")
	srv := httptest.NewServer(mock.Handler())
	t.Cleanup(srv.Close)
	svc, err := s3.NewWithClient(mock, s3.MockPresigner(srv.URL), s3.Params{Bucket: "atcr"})
	if err != nil {
		t.Fatalf("mock S3 service: %v", err)
	}
	return svc
}

// EmbeddedS3 starts the embedded versitygw server (SigV4-checking, objects
// on disk) for the test. versitygw allows one server per process, so tests
// using it must not run in parallel with each other.
func EmbeddedS3(t testing.TB) *s3.S3Service {
	t.Helper()
	srv, err := embedded.Start(t.Context(), embedded.Options{DataDir: t.TempDir(), ChecksumETags: true}) // as cmd/hold runs it
	if err != nil {
		t.Fatalf("start embedded S3: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("stop embedded S3: %v", err)
		}
	})
	svc, err := s3.New(t.Context(), srv.Params())
	if err != nil {
		t.Fatalf("embedded S3 service: %v", err)
	}
	return svc
}
