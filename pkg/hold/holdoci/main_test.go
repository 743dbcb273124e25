package holdoci

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"atcr.io/pkg/s3/embedded"
)

// gateway is the embedded versitygw server every test in this binary shares
// (versitygw allows one per process); each environment gets its own bucket.
var gateway *embedded.Server

func TestMain(m *testing.M) {
	os.Exit(runWithGateway(m))
}

func runWithGateway(m *testing.M) int {
	dir, err := os.MkdirTemp("", "atcr-holdoci-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gateway, err = embedded.Start(ctx, embedded.Options{DataDir: dir, ChecksumETags: true}) // as cmd/hold runs it
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
