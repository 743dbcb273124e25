package vulndb

import (
	"sync"

	"github.com/anchore/go-logger/adapter/discard"
	"github.com/anchore/grype/grype"
	"github.com/anchore/syft/syft"
)

var silenceOnce sync.Once

// SilenceGrype turns off the package-level loggers of grype and syft (they are process-wide singletons, set once here): the hold logs
// what a scan did itself, with slog, and nothing may write to its stdout.
func SilenceGrype() {
	silenceOnce.Do(func() {
		// The event buses stay unset: with no publisher set, grype and
		// syft publish nothing (setting a nil *Bus would panic).
		grype.SetLogger(discard.New())
		syft.SetLogger(discard.New())
	})
}

// silenceGrype is SilenceGrype, for this package's own calls.
func silenceGrype() { SilenceGrype() }
