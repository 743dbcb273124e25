package db

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"atcr.io/internal/pgtest"
)

// This package's tests cannot use dbtest (it imports this package), so
// they have its two helpers in small.

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var engines = []Engine{EngineSQLite, EnginePostgres}

// forEachEngine runs fn as a subtest per engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, engine Engine)) {
	t.Helper()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) { fn(t, engine) })
	}
}

// pgURL is a fresh PostgreSQL database (the test skips without one).
func pgURL(t *testing.T) string { return pgtest.URL(t) }

// openEngine returns a fresh, migrated database on engine.
func openEngine(t *testing.T, engine Engine) *DB {
	t.Helper()
	url := ""
	if engine == EnginePostgres {
		url = pgtest.URL(t)
	}
	d, err := OpenConfigured(context.Background(), url, filepath.Join(t.TempDir(), "appview.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
