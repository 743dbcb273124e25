package scan

import (
	"os"
	"testing"

	"atcr.io/pkg/s3/embedded"
	"atcr.io/pkg/s3/embedded/embeddedtest"
)

var gateway *embeddedtest.Gateway

func TestMain(m *testing.M) { os.Exit(embeddedtest.Run(m, embedded.Options{}, &gateway)) }
