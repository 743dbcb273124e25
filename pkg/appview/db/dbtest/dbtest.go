package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"atcr.io/internal/pgtest"
	"atcr.io/pkg/appview/db"
)

// Engines are the engines every store test runs on.
var Engines = []db.Engine{db.EngineSQLite, db.EnginePostgres}

// Main runs the package's tests and stops the PostgreSQL server if one was
// started; call it from TestMain.
func Main(m *testing.M) int { return pgtest.Main(m) }

// Run runs fn as one subtest per engine, named after the engine.
func Run(t *testing.T, fn func(t *testing.T, engine db.Engine)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(string(engine), func(t *testing.T) { fn(t, engine) })
	}
}

// Open returns a fresh, migrated database on engine, closed when the test
// ends.
func Open(t testing.TB, engine db.Engine) *db.DB {
	t.Helper()
	d, err := db.OpenConfigured(context.Background(), URL(t, engine), filepath.Join(t.TempDir(), "appview.sqlite"))
	if err != nil {
		t.Fatalf("open %s database: %v", engine, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// URL is the database.url of a fresh database on engine: "" (SQLite in the
// data directory) or a new PostgreSQL database.
func URL(t testing.TB, engine db.Engine) string {
	t.Helper()
	if engine == db.EnginePostgres {
		return pgtest.URL(t)
	}
	return ""
}
