package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Cursor returns the stored Jetstream cursor (time_us) and whether there
// is one.
func (s *Store) Cursor(ctx context.Context) (int64, bool, error) {
	var us int64
	err := s.sql.QueryRowContext(ctx, `SELECT time_us FROM jetstream_cursor WHERE id = 1`).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read jetstream cursor: %w", err)
	}
	return us, true, nil
}

// SetCursor stores the Jetstream cursor. Apply stores it with its batch;
// this is for cursors that move without events (a rewind, an operator
// reset).
func (s *Store) SetCursor(ctx context.Context, timeUS int64) error {
	return s.inTx(ctx, "set jetstream cursor", func(tx *sql.Tx) error { return s.setCursor(ctx, tx, timeUS) })
}

func (s *Store) setCursor(ctx context.Context, tx *sql.Tx, timeUS int64) error {
	if timeUS < 0 {
		return fmt.Errorf("jetstream cursor %d is negative", timeUS)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO jetstream_cursor (id, time_us) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET time_us = excluded.time_us`, timeUS); err != nil {
		return fmt.Errorf("write jetstream cursor: %w", err)
	}
	return nil
}
