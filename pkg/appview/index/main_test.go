package index

import (
	"log/slog"
	"os"
	"testing"

	"atcr.io/pkg/appview/db/dbtest"
)

// TestMain silences the migration log lines every fresh database prints,
// which would interleave with benchmark results.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(dbtest.Main(m))
}
