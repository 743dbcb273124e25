// Package sqlconn opens a connection pool on the AppView database file for
// the OAuth, device and web-session tables.
//
// It is a stand-in: pkg/appview/db keeps its *sql.DB private, so the OAuth
// client store, the device flow and the UI sessions open a second pool on
// the same SQLite file with the same settings (WAL, busy timeout, foreign
// keys, synchronous FULL, immediate write transactions). SQLite in WAL mode
// serialises writers across pools through the file lock and busy_timeout, so
// two pools in one process are safe. Once pkg/appview/db exposes its pool,
// callers pass that instead and this package goes away.
package sqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	// The project's one SQLite driver (see pkg/appview/db).
	_ "github.com/glebarez/go-sqlite"

	"atcr.io/pkg/appview/db"
)

// Open applies the AppView migrations to the database at path (through
// db.Open, which creates the file 0600) and returns a pool on it.
func Open(ctx context.Context, path string) (*sql.DB, error) {
	migrated, err := db.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := migrated.Close(); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	// FULL, as in pkg/appview/db: a refreshed OAuth session must survive
	// power loss, because the PDS has already revoked the refresh token it
	// replaced.
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	pool, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return pool, nil
}
