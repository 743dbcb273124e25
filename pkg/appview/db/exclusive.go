package db

import (
	"context"
	"hash/fnv"
	"log/slog"
	"time"

	"atcr.io/internal/postgres"
)

// ExclusiveOptions tunes RunExclusive on PostgreSQL; the zero value uses
// internal/postgres's defaults (try every 5s, check the lock's connection
// every 5s).
type ExclusiveOptions struct {
	Retry  time.Duration
	Check  time.Duration
	Logger *slog.Logger
}

// RunExclusive runs fn on one AppView at a time among those sharing the
// database, until ctx ends. On SQLite (one AppView per file) it just runs
// fn(ctx). On PostgreSQL, fn runs while this process holds the advisory
// lock named by role (postgres.Leader): the others wait and one takes over
// when the holder dies. fn's context ends when the lock is lost; fn must
// be safe to run on two AppViews for a moment after that.
func (d *DB) RunExclusive(ctx context.Context, role string, opts ExclusiveOptions, fn func(context.Context)) {
	if d.engine != EnginePostgres {
		fn(ctx)
		return
	}
	postgres.Leader{
		DB: d.sql, Key: roleKey(role), Name: role,
		Retry: opts.Retry, Check: opts.Check, Logger: opts.Logger,
	}.Run(ctx, fn)
}

// roleKey is the advisory lock key of a role: a hash of its name, so
// roles need no registry of numbers. Keys share PostgreSQL's one lock
// space per database; the "atcr exclusive:" prefix keeps them apart from
// an unrelated user of the same database.
func roleKey(role string) int64 {
	h := fnv.New64a()
	h.Write([]byte("atcr exclusive: " + role))
	return int64(h.Sum64())
}
