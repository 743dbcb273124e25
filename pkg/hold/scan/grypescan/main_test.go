package grypescan_test

import (
	"os"
	"testing"

	"atcr.io/pkg/s3/embedded"
	"atcr.io/pkg/s3/embedded/embeddedtest"
)

// gateway is the embedded S3 server the tests share (one per process).
var gateway *embeddedtest.Gateway

func TestMain(m *testing.M) {
	// The scan benchmark runs the engine in a child process of this test
	// binary, to measure its peak memory alone (bench_test.go).
	if os.Getenv(benchChildEnv) != "" {
		os.Exit(benchChild())
	}
	os.Exit(embeddedtest.Run(m, embedded.Options{}, &gateway))
}
