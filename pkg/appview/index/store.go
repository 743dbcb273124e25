package index

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"atcr.io/pkg/appview/db"
)

// Defaults of Options.
const (
	DefaultFlushInterval = 10 * time.Second
	DefaultFlushEvents   = 1000
)

// Options configures New. The zero value uses the defaults.
type Options struct {
	// Now is the clock (time.Now when nil). Record times in the future are
	// clamped to it, so a hostile createdAt cannot pin a push to the top
	// of the home page.
	Now func() time.Time
	// FlushInterval is how often counted pulls and pushes are written.
	FlushInterval time.Duration
	// FlushEvents writes the counters early once this many are pending.
	FlushEvents int
	// Logger receives counter flush failures (slog.Default when nil).
	Logger *slog.Logger
}

// Store is the index. It is safe for concurrent use.
type Store struct {
	sql      *sql.DB
	engine   db.Engine // only search's query text differs between engines
	now      func() time.Time
	log      *slog.Logger
	counters *counters
}

// New returns the index over the AppView database d and starts the counter
// flusher; Close stops it. The database must be migrated (db.Open does).
func New(d *db.DB, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.FlushEvents <= 0 {
		opts.FlushEvents = DefaultFlushEvents
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{sql: d.SQL(), engine: d.Engine(), now: opts.Now, log: opts.Logger}
	s.counters = startCounters(s, opts.FlushInterval, opts.FlushEvents)
	return s
}

// Close writes the pending counters and stops the flusher. It does not
// close the database, which belongs to the caller.
func (s *Store) Close(ctx context.Context) error {
	return s.counters.close(ctx)
}

// inTx runs fn in one write transaction.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := fn(tx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// clamp turns a record's time into the unix seconds stored, never later
// than now and never before 1970.
func (s *Store) clamp(t time.Time) int64 {
	now := s.now().Unix()
	u := t.Unix()
	if t.IsZero() || u < 0 {
		return 0
	}
	return min(u, now)
}

// fromUnix is the inverse of the stored unix seconds; 0 is the zero time.
func fromUnix(u int64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(u, 0).UTC()
}
