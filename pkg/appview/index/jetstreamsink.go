package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"atcr.io/pkg/appview/jetstream"
)

// Defaults of SinkOptions.
const (
	DefaultSinkBatch  = 100
	DefaultSinkWindow = 50 * time.Millisecond
	// sinkRetryDelay is how long a timer flush that failed (the database
	// is unavailable) waits before it tries again.
	sinkRetryDelay = time.Second
)

// SinkOptions configures NewJetstreamSink. The zero value uses the defaults.
type SinkOptions struct {
	// MaxBatch is how many commits are written in one transaction at most.
	MaxBatch int
	// Window is how long a commit may wait for others to join its batch.
	Window time.Duration
	// DIDs is told of the DIDs of every written batch, and of those the
	// index meets for the first time (firstseen.go); nil: nobody is.
	DIDs DIDWatcher
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// SinkStats are the sink's counters since NewJetstreamSink.
type SinkStats struct {
	// Batches counts the transactions that wrote commits (Apply calls that
	// succeeded, and per-event fallbacks).
	Batches int64
	// Applied counts the commits written.
	Applied int64
	// Invalid counts the records refused by validation (lexicon, OCI
	// grammars, record key): skipped.
	Invalid int64
	// Ignored counts commits of collections the index does not keep
	// (io.atcr.hold.layer, say): skipped.
	Ignored int64
	// Fallbacks counts batches whose transaction failed and that were
	// written event by event instead.
	Fallbacks int64
	// Failed counts events the database refused on their own while it
	// accepted others (in a fallback): skipped so that they cannot block
	// the stream.
	Failed int64
	// Pending is how many commits wait for their batch to be written.
	Pending int64
	// FirstSeen counts the DIDs reported to SinkOptions.DIDs as met for
	// the first time.
	FirstSeen int64
}

// JetstreamSink feeds the index from the Jetstream consumer: it is the
// consumer's jetstream.Handler (with IdentityHandler and AccountHandler) and
// its jetstream.CursorStore.
//
// Commits are collected into batches of up to MaxBatch, written by Apply
// when the batch is full or Window after its first commit, with the cursor
// of the batch's newest event in the same transaction. HandleCommit returns
// before its commit is written, so the consumer's in-memory cursor runs
// ahead of the database; SaveCursor writes the pending batch first, so the
// stored cursor never passes an unwritten event. A batch whose write fails
// stays pending (at most MaxBatch commits) and is tried again; while it
// fails and is full, HandleCommit returns the error and the consumer
// reconnects, so nothing is lost.
type JetstreamSink struct {
	store *Store
	opts  SinkOptions
	log   *slog.Logger

	mu      sync.Mutex
	pending []Event
	cursor  int64 // newest time_us of pending
	timer   *time.Timer
	failing error // the last write error while pending is kept
	closed  bool
	seen    map[string]struct{} // DIDs known to have rows (SinkOptions.DIDs)

	batches, applied, invalid, ignored, fallbacks, failed, pendingN, firstSeen atomic.Int64
}

var (
	_ jetstream.Handler         = (*JetstreamSink)(nil)
	_ jetstream.IdentityHandler = (*JetstreamSink)(nil)
	_ jetstream.AccountHandler  = (*JetstreamSink)(nil)
	_ jetstream.CursorStore     = (*JetstreamSink)(nil)
)

// NewJetstreamSink returns a sink writing into s. Close it after the
// consumer's Run returned.
func NewJetstreamSink(s *Store, opts SinkOptions) *JetstreamSink {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultSinkBatch
	}
	if opts.Window <= 0 {
		opts.Window = DefaultSinkWindow
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &JetstreamSink{store: s, opts: opts, log: opts.Logger.With("component", "index-sink"), seen: map[string]struct{}{}}
}

// Stats returns the sink's counters.
func (k *JetstreamSink) Stats() SinkStats {
	return SinkStats{
		Batches: k.batches.Load(), Applied: k.applied.Load(), Invalid: k.invalid.Load(),
		Ignored: k.ignored.Load(), Fallbacks: k.fallbacks.Load(), Failed: k.failed.Load(),
		Pending: k.pendingN.Load(), FirstSeen: k.firstSeen.Load(),
	}
}

// indexed says whether the index keeps collection.
func indexed(collection string) bool { return slices.Contains(Collections, collection) }

// HandleCommit adds a commit to the pending batch. A record that is not
// atproto data is refused at once (jetstream.ErrInvalidRecord); the other
// validation happens when the batch is written and is counted in
// SinkStats.Invalid.
func (k *JetstreamSink) HandleCommit(ctx context.Context, c jetstream.Commit) error {
	if !indexed(c.Collection) {
		k.ignored.Add(1)
		return nil
	}
	ev := Event{Record: Record{DID: c.DID, Collection: c.Collection, RKey: c.RKey, CID: c.CID}}
	if c.Operation == jetstream.OpDelete {
		ev.Delete = true
	} else {
		r, err := ParseJSON(c.DID, c.Collection, c.RKey, c.CID, c.Record)
		if err != nil {
			k.countInvalid(err)
			return fmt.Errorf("%w: %w", jetstream.ErrInvalidRecord, err)
		}
		ev.Record = r
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failing != nil && len(k.pending) >= k.opts.MaxBatch {
		// The database refuses the kept batch: refuse this event too (the
		// consumer reconnects and sends it again) rather than grow.
		if err := k.flushLocked(ctx); err != nil {
			return err
		}
	}
	k.pending = append(k.pending, ev)
	k.cursor = max(k.cursor, c.TimeUS)
	k.pendingN.Store(int64(len(k.pending)))
	if len(k.pending) >= k.opts.MaxBatch {
		return k.flushLocked(ctx)
	}
	k.armLocked(k.opts.Window)
	return nil
}

// HandleIdentity writes the pending batch (events stay in order), then the
// handle.
func (k *JetstreamSink) HandleIdentity(ctx context.Context, id jetstream.Identity) error {
	if err := k.Flush(ctx); err != nil {
		return err
	}
	err := k.store.SetHandle(ctx, id.DID, id.Handle)
	if errors.Is(err, ErrInvalidRecord) {
		k.countInvalid(err)
		return fmt.Errorf("%w: %w", jetstream.ErrInvalidRecord, err)
	}
	return err
}

// HandleAccount removes what a deleted account's records made. Deactivated,
// suspended or taken-down accounts keep their rows: their records still
// exist, and the account may come back (the pages decide what to show).
func (k *JetstreamSink) HandleAccount(ctx context.Context, a jetstream.Account) error {
	if a.Active || a.Status != "deleted" {
		return nil
	}
	if err := k.Flush(ctx); err != nil {
		return err
	}
	err := k.store.DeleteDID(ctx, a.DID)
	if errors.Is(err, ErrInvalidRecord) {
		k.countInvalid(err)
		return fmt.Errorf("%w: %w", jetstream.ErrInvalidRecord, err)
	}
	return err
}

// LoadCursor returns the stored cursor (0 when there is none).
func (k *JetstreamSink) LoadCursor(ctx context.Context) (int64, error) {
	us, _, err := k.store.Cursor(ctx)
	return us, err
}

// SaveCursor writes the pending batch, then the cursor: the consumer only
// passes cursors of events it handed over, and all of them are written
// once the flush succeeded.
func (k *JetstreamSink) SaveCursor(ctx context.Context, timeUS int64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.flushLocked(ctx); err != nil {
		return err
	}
	return k.store.SetCursor(ctx, timeUS)
}

// Flush writes the pending batch now.
func (k *JetstreamSink) Flush(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.flushLocked(ctx)
}

// Close stops the batch timer and writes what is pending.
func (k *JetstreamSink) Close(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	if k.timer != nil {
		k.timer.Stop()
		k.timer = nil
	}
	return k.flushLocked(ctx)
}

// armLocked starts the batch timer unless it runs.
func (k *JetstreamSink) armLocked(d time.Duration) {
	if k.timer != nil || k.closed {
		return
	}
	k.timer = time.AfterFunc(d, k.timerFlush)
}

// timerFlush writes a batch whose window ended. A failure keeps the batch
// and tries again after sinkRetryDelay.
func (k *JetstreamSink) timerFlush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.timer = nil
	if err := k.flushLocked(context.Background()); err != nil {
		k.log.Warn("index: cannot write a Jetstream batch; kept and tried again", "pending", len(k.pending), "err", err)
		k.armLocked(sinkRetryDelay)
	}
}

// flushLocked writes the pending batch with its cursor in one transaction.
// When that fails it writes the events one by one: if the database then
// accepts the cursor, it works, and the events it refused on their own are
// counted in Failed and dropped; if not, the batch is kept and the error
// returned.
func (k *JetstreamSink) flushLocked(ctx context.Context) error {
	if len(k.pending) == 0 {
		k.failing = nil
		return nil
	}
	// Which DIDs are new is asked before the batch makes them known.
	watch, err := k.watchLocked(ctx)
	if err != nil {
		k.failing = fmt.Errorf("index batch: %w", err)
		return k.failing
	}
	res, err := k.store.Apply(ctx, Batch{Events: k.pending, CursorUS: k.cursor, SkipUnchanged: true})
	if err == nil {
		k.batches.Add(1)
		k.applied.Add(int64(res.Applied))
		for _, inv := range res.Invalid {
			k.countInvalid(inv)
		}
		k.noticeLocked(watch)
		k.clearLocked()
		return nil
	}
	if ctx.Err() != nil {
		k.failing = err
		return err
	}
	k.fallbacks.Add(1)
	var refused []error
	applied := 0
	for _, ev := range k.pending {
		var e error
		if ev.Delete {
			e = k.store.Delete(ctx, ev.DID, ev.Collection, ev.RKey)
		} else {
			e = k.store.Put(ctx, ev.Record)
		}
		switch {
		case e == nil:
			applied++
		case errors.Is(e, ErrInvalidRecord):
			k.countInvalid(e)
		default:
			refused = append(refused, e)
		}
	}
	if cerr := k.store.SetCursor(ctx, k.cursor); cerr != nil {
		// The database is unavailable, not one event: keep the batch.
		k.failing = fmt.Errorf("index batch: %w (and per event; cursor: %w)", err, cerr)
		return k.failing
	}
	k.batches.Add(1)
	k.applied.Add(int64(applied))
	for _, e := range refused {
		n := k.failed.Add(1)
		if n <= 10 || n%1000 == 0 {
			k.log.Warn("index: the database refused a Jetstream event; skipped", "err", e, "failed_total", n)
		}
	}
	k.noticeLocked(watch)
	k.clearLocked()
	return nil
}

func (k *JetstreamSink) clearLocked() {
	k.pending = k.pending[:0]
	k.pendingN.Store(0)
	k.failing = nil
	if k.timer != nil {
		k.timer.Stop()
		k.timer = nil
	}
}

// countInvalid counts a refused record, logging the first ten and every
// thousandth so a hostile stream cannot flood the log.
func (k *JetstreamSink) countInvalid(err error) {
	n := k.invalid.Add(1)
	if n <= 10 || n%1000 == 0 {
		k.log.Info("index: skipped an invalid record", "err", err, "invalid_total", n)
	}
}
