package sqlconn

import (
	"context"
	"path/filepath"
	"testing"
)

// The pool sees the tables of every migration, including the multi-statement
// ones of the OAuth, web-session and device migrations.
func TestOpenAppliesMigrations(t *testing.T) {
	ctx := context.Background()
	pool, err := Open(ctx, filepath.Join(t.TempDir(), "appview.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, table := range []string{"pds_sessions", "oauth_auth_requests", "oauth_sessions", "web_sessions", "device_requests", "devices"} {
		var n int
		if err := pool.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
	var mode string
	if err := pool.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}
