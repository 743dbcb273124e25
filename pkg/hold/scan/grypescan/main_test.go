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
	os.Exit(embeddedtest.Run(m, embedded.Options{}, &gateway))
}
