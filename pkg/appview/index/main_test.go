package index

import (
	"atcr.io/pkg/appview/db/dbtest"
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the migration log lines every fresh database prints,
// which would interleave with benchmark results.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(dbtest.Main(m))
}
