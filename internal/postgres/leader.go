package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of Leader.
const (
	DefaultLeaderRetry = 5 * time.Second
	DefaultLeaderCheck = 5 * time.Second
)

// Leader runs a function on at most one of the processes sharing a
// database: the one holding a session-level advisory lock (Key) on a
// connection taken out of the pool for that. The others try again every
// Retry. The lock lives as long as the holder's session: when the holder
// dies or its connection breaks, PostgreSQL releases it and another
// process takes over at its next try. The holder pings its connection
// every Check and stops fn when the ping fails, since the lock may already
// be someone else's; between the failure and the ping, two may run at once,
// so fn must be safe to run twice (the Jetstream consumer is: indexing is
// idempotent).
type Leader struct {
	DB  *sql.DB
	Key int64
	// Name is the role in the log ("jetstream consumer").
	Name   string
	Retry  time.Duration // DefaultLeaderRetry when zero
	Check  time.Duration // DefaultLeaderCheck when zero
	Logger *slog.Logger  // slog.Default() when nil
}

// Run runs fn whenever this process holds the lock, with a context that
// ends when the lock is lost or ctx ends, until ctx ends. When fn returns
// by itself the lock is released and tried for again after Retry.
func (l Leader) Run(ctx context.Context, fn func(context.Context)) {
	if l.Retry <= 0 {
		l.Retry = DefaultLeaderRetry
	}
	if l.Check <= 0 {
		l.Check = DefaultLeaderCheck
	}
	if l.Logger == nil {
		l.Logger = slog.Default()
	}
	for ctx.Err() == nil {
		led, err := l.lead(ctx, fn)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			l.Logger.Warn("leader: "+l.Name+": lock connection failed; trying again", "err", err, "retry_in", l.Retry)
		case led:
			l.Logger.Info("leader: "+l.Name+": stopped here", "retry_in", l.Retry)
		}
		select {
		case <-ctx.Done():
		case <-time.After(l.Retry):
		}
	}
}

// lead takes the lock if it is free and runs fn while holding it. It
// reports whether it held the lock.
func (l Leader) lead(ctx context.Context, fn func(context.Context)) (bool, error) {
	conn, err := l.DB.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("take a connection: %w", err)
	}
	// The connection is closed, never returned to the pool: closing the
	// session is what releases the lock, whatever state it is in.
	defer discard(conn)
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(?)`, l.Key).Scan(&got); err != nil {
		return false, fmt.Errorf("try the lock: %w", err)
	}
	if !got {
		return false, nil
	}
	l.Logger.Info("leader: " + l.Name + ": runs on this process")
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(fctx)
	}()
	tick := time.NewTicker(l.Check)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return true, nil
		case <-ctx.Done():
			cancel()
			<-done
			return true, nil
		case <-tick.C:
			pctx, pcancel := context.WithTimeout(ctx, l.Check)
			err := conn.PingContext(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				cancel()
				<-done
				return true, fmt.Errorf("lost the lock's connection: %w", err)
			}
		}
	}
}

// discard closes conn's underlying connection instead of pooling it.
func discard(conn *sql.Conn) {
	err := conn.Raw(func(any) error { return driver.ErrBadConn })
	if err != nil && !errors.Is(err, driver.ErrBadConn) {
		slog.Debug("leader: discard connection", "err", err)
	}
	conn.Close()
}
