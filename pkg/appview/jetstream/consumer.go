package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// reportInterval is how often a connected consumer logs its counters.
const reportInterval = time.Minute

// Consumer reads a Jetstream instance into a Handler. Create it with New
// and start it with Run; Stats may be called from any goroutine.
type Consumer struct {
	opts    Options
	handler Handler
	cursors CursorStore
	log     *slog.Logger
	stats   counters

	// queue is the current session's queue (nil between sessions), for Stats.
	queue atomic.Pointer[chan event]

	// lastSave and lastReport belong to the goroutine running Run.
	lastSave, lastReport time.Time

	// readerWaits, when set (tests), is called when the reader is about to
	// block because the queue is full.
	readerWaits func()
}

// New checks the options and returns a consumer that applies events with h
// and keeps its cursor in cursors.
func New(opts Options, h Handler, cursors CursorStore) (*Consumer, error) {
	if h == nil || cursors == nil {
		return nil, errors.New("jetstream: a handler and a cursor store are required")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Consumer{opts: o, handler: h, cursors: cursors, log: o.Logger.With("component", "jetstream")}, nil
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() Stats {
	s := c.stats.snapshot()
	if q := c.queue.Load(); q != nil {
		s.Queued = int64(len(*q))
	}
	return s
}

// Run consumes events until ctx is cancelled, reconnecting with backoff
// whenever the connection fails or the handler does; it then saves the
// cursor and returns nil. It returns an error only when the cursor cannot
// be loaded. Run must not be called twice at the same time.
func (c *Consumer) Run(ctx context.Context) error {
	cur, err := c.cursors.LoadCursor(ctx)
	if err != nil {
		return fmt.Errorf("jetstream: load cursor: %w", err)
	}
	if cur < 0 {
		return fmt.Errorf("jetstream: stored cursor %d is negative", cur)
	}
	c.stats.cursor.Store(cur)
	c.stats.savedCursor.Store(cur)
	c.lastSave, c.lastReport = c.opts.Now(), c.opts.Now()
	defer c.saveOnShutdown(ctx)

	failures := 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.stats.reconnects.Add(1)
		}
		before := c.stats.cursor.Load()
		err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if c.stats.cursor.Load() > before {
			// The connection made progress: the next failure starts the
			// backoff afresh. Events of the rewind window do not count.
			failures = 0
		}
		wait := backoff(failures, c.opts.MinBackoff, c.opts.MaxBackoff, c.opts.Jitter())
		failures++
		c.log.Warn("jetstream: disconnected", "err", err, "retry_in", wait, "cursor", c.stats.cursor.Load())
		if c.opts.Sleep(ctx, wait) != nil {
			return nil
		}
	}
}

// saveCursor stores the cursor when it moved since the last save. A failed
// save is logged and tried again at the next occasion: the stored cursor
// only lags, which costs replayed events, not lost ones.
func (c *Consumer) saveCursor(ctx context.Context) {
	c.lastSave = c.opts.Now()
	cur := c.stats.cursor.Load()
	if cur <= c.stats.savedCursor.Load() {
		return
	}
	if err := c.cursors.SaveCursor(ctx, cur); err != nil {
		c.log.Warn("jetstream: cannot save the cursor", "cursor", cur, "err", err)
		return
	}
	c.stats.savedCursor.Store(cur)
}

// saveOnShutdown saves the cursor once more after ctx ended, with a short
// deadline of its own.
func (c *Consumer) saveOnShutdown(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	c.saveCursor(sctx)
	s := c.Stats()
	c.log.Info("jetstream: stopped", "cursor", s.SavedCursor, "events", s.Events, "invalid", s.Invalid, "reconnects", s.Reconnects)
}

// report logs the counters once per reportInterval.
func (c *Consumer) report() {
	now := c.opts.Now()
	if now.Sub(c.lastReport) < reportInterval {
		return
	}
	c.lastReport = now
	s := c.Stats()
	c.log.Info("jetstream: progress", "events", s.Events, "commits", s.Commits, "invalid", s.Invalid, "ignored", s.Ignored,
		"rejected", s.Rejected, "handler_errors", s.HandlerErrors, "reconnects", s.Reconnects, "lag", s.Lag, "cursor", s.Cursor)
}
