package holdoci

import (
	"os"
	"testing"

	"atcr.io/pkg/s3/embedded"
	"atcr.io/pkg/s3/embedded/embeddedtest"
)

// gateway is the embedded versitygw server every test in this binary shares
// (versitygw allows one per process); each environment gets its own bucket.
var gateway *embeddedtest.Gateway

func TestMain(m *testing.M) {
	os.Exit(embeddedtest.Run(m, embedded.Options{ChecksumETags: true}, &gateway)) // as cmd/hold runs it
}
