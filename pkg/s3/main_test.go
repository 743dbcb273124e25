package s3_test

import (
	"os"
	"testing"

	"atcr.io/pkg/s3"
	"atcr.io/pkg/s3/embedded"
	"atcr.io/pkg/s3/embedded/embeddedtest"
)

// gateway is the embedded versitygw server shared by every test and
// benchmark in this binary (versitygw allows one per process).
var gateway *embeddedtest.Gateway

func TestMain(m *testing.M) {
	os.Exit(embeddedtest.Run(m, embedded.Options{}, &gateway))
}

// gatewayParams returns the embedded server's parameters with a bucket of
// its own, so each caller starts from an empty bucket.
func gatewayParams(t testing.TB) s3.Params {
	t.Helper()
	return gateway.FreshBucket("test")
}

// newGatewayService returns a service on a new, empty bucket of the embedded
// server.
func newGatewayService(t testing.TB) *s3.S3Service {
	t.Helper()
	return gatewayService(t, gatewayParams(t))
}

// gatewayService returns a service on p's bucket, creating it.
func gatewayService(t testing.TB, p s3.Params) *s3.S3Service {
	t.Helper()
	svc, err := s3.New(t.Context(), p)
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	if err := svc.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	return svc
}
