package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ProfileChecked reports whether did's sailor profile has been confirmed to
// exist (by MarkProfileChecked), so a login need not ask its PDS again.
func (d *DB) ProfileChecked(ctx context.Context, did syntax.DID) (bool, error) {
	var one int
	err := d.sql.QueryRowContext(ctx, `SELECT 1 FROM profile_checks WHERE did = ?`, did.String()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read profile check of %s: %w", did, err)
	}
	return true, nil
}

// MarkProfileChecked records that did's sailor profile exists.
func (d *DB) MarkProfileChecked(ctx context.Context, did syntax.DID, at time.Time) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO profile_checks (did, checked_at) VALUES (?, ?)
		ON CONFLICT(did) DO UPDATE SET checked_at = excluded.checked_at`, did.String(), unix(at))
	if err != nil {
		return fmt.Errorf("record profile check of %s: %w", did, err)
	}
	return nil
}
