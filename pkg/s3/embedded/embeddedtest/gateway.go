package embeddedtest

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

// Gateway is the embedded server of one test binary.
type Gateway struct {
	*embedded.Server
	// Dir is the server's data directory (objects under Dir/s3/<bucket>/).
	Dir string

	buckets atomic.Int64
}

// Run starts the server in a new temporary directory with opts (DataDir is
// set here), stores it in *g, runs the tests, stops the server and removes
// the directory. It returns the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(embeddedtest.Run(m, embedded.Options{}, &gateway)) }
func Run(m *testing.M, opts embedded.Options, g **Gateway) int {
	dir, err := os.MkdirTemp("", "atcr-embedded-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts.DataDir = dir
	srv, err := embedded.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start embedded s3:", err)
		return 1
	}
	defer func() {
		if err := srv.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "stop embedded s3:", err)
		}
	}()
	*g = &Gateway{Server: srv, Dir: dir}
	return m.Run()
}

// FreshBucket returns the server's parameters with a bucket of its own,
// named prefix-N, so each caller starts from an empty bucket (created by
// S3Service.EnsureBucket or the first write's caller).
func (g *Gateway) FreshBucket(prefix string) s3.Params {
	p := g.Params()
	p.Bucket = fmt.Sprintf("%s-%d", prefix, g.buckets.Add(1))
	return p
}
