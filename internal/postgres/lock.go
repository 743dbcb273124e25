package postgres

import (
	"context"
	"database/sql"
	"fmt"
)

// Lock waits for the session-level advisory lock key on a connection taken
// out of db's pool and returns the function that releases it. Every
// process sharing the database waits on the same key. The connection is
// closed on release, never pooled, so a failed unlock cannot leave the
// lock held by an idle connection.
func Lock(ctx context.Context, db *sql.DB, key int64) (unlock func(), err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("advisory lock: take a connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, key); err != nil {
		discard(conn)
		return nil, fmt.Errorf("advisory lock: %w", err)
	}
	return func() { discard(conn) }, nil
}
