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
		DB: d.sql, Key: lockKey(role), Name: role,
		Retry: opts.Retry, Check: opts.Check, Logger: opts.Logger,
	}.Run(ctx, fn)
}

// lockKey is the advisory lock key of a role or lock name: a hash of the
// name, so names need no registry of numbers. Keys share PostgreSQL's one lock
// space per database; the "atcr exclusive:" prefix keeps them apart from
// an unrelated user of the same database.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("atcr exclusive: " + name))
	return int64(h.Sum64())
}

// Lock takes the lock called name that every AppView sharing the database
// waits on, and returns its release. On SQLite, one AppView per file, it
// returns at once: the caller's in-process lock is enough there.
func (d *DB) Lock(ctx context.Context, name string) (unlock func(), err error) {
	if d.engine != EnginePostgres {
		return func() {}, nil
	}
	return postgres.Lock(ctx, d.sql, lockKey(name))
}
