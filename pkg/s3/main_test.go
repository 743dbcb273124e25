package s3_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"atcr.io/pkg/s3"
	"atcr.io/pkg/s3/embedded"
)

// gateway is the embedded versitygw server shared by every test and
// benchmark in this binary (versitygw allows one per process).
var gateway *embedded.Server

func TestMain(m *testing.M) {
	os.Exit(runWithGateway(m))
}

func runWithGateway(m *testing.M) int {
	dir, err := os.MkdirTemp("", "atcr-s3-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gateway, err = embedded.Start(ctx, embedded.Options{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start embedded s3:", err)
		return 1
	}
	defer func() {
		if err := gateway.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "stop embedded s3:", err)
		}
	}()
	return m.Run()
}

var bucketSeq atomic.Int64

// gatewayParams returns the embedded server's parameters with a bucket of
// its own, so each caller starts from an empty bucket.
func gatewayParams(t testing.TB) s3.Params {
	t.Helper()
	p := gateway.Params()
	p.Bucket = fmt.Sprintf("test-%d", bucketSeq.Add(1))
	return p
}

// newGatewayService returns a service on a new, empty bucket of the embedded
// server.
func newGatewayService(t testing.TB) *s3.S3Service {
	t.Helper()
	svc, err := s3.New(t.Context(), gatewayParams(t))
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	if err := svc.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	return svc
}
