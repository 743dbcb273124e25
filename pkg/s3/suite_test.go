package s3_test

import (
	"net/http/httptest"
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
