package holdprofile

import (
	"os"
	"testing"

	"atcr.io/pkg/s3/embedded"
	"atcr.io/pkg/s3/embedded/embeddedtest"
)

// gateway is the embedded S3 server the hold's PDS stores blobs in.
var gateway *embeddedtest.Gateway

func TestMain(m *testing.M) { os.Exit(embeddedtest.Run(m, embedded.Options{}, &gateway)) }
