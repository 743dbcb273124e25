package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/s3"
)

// ErrRunning is returned by Run while another collection is in progress.
var ErrRunning = errors.New("gc: a collection is already running")

// Records is the part of the hold's repository GC reads; *pds.PDS
// implements it.
type Records interface {
	ListRecords(ctx context.Context, coll syntax.NSID, limit int, cursor string, reverse bool) ([]pds.Record, string, error)
	// LastSeq changes with every commit; GC uses it to notice new records.
	LastSeq() int64
}

// Blobs is the blob store GC sweeps; *s3.S3Service implements it.
type Blobs interface {
	WalkBlobs(ctx context.Context, fn func(s3.BlobInfo) error) error
	Stat(ctx context.Context, key string) (s3.ObjectInfo, error)
	Delete(ctx context.Context, key string) error
}

// Pins tells the collector which blobs pushes in progress rely on;
// *holdoci.Handlers implements it for the running hold, holdoci.PinStore
// for a stopped one.
type Pins interface {
	// LockBlobs excludes, until unlock, every push step that finds a blob
	// present and relies on it (a notification between its stat and its
	// layer records, a completion of a stored digest, a push's HEAD).
	LockBlobs() (unlock func())
	// Pinned reports whether a push step referenced the blob at or after
	// since, or an open upload session names it.
	Pinned(ctx context.Context, digest string, since time.Time) (bool, error)
	// Collected is told, under the lock, that the blob was deleted: what
	// still charged it to users as stored (completed by a push that never
	// recorded a manifest) ends, or it would count against their quota
	// for the rest of the upload session TTL.
	Collected(ctx context.Context, digest string) error
}

// Config configures New.
type Config struct {
	Records Records
	Blobs   Blobs
	// Pins protects blobs pushes rely on (required: without it a blob a
	// push found present could be deleted before its manifest is recorded).
	Pins Pins
	// GracePeriod protects recent blobs: only blobs last modified longer
	// ago than this are collected. Must be positive.
	GracePeriod time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Options configure one Run.
type Options struct {
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
}

// Report says what a run found and did. In a dry run Deleted and FreedBytes
// count what a real run would have deleted.
type Report struct {
	DryRun bool
	// Scanned is the number of blobs walked.
	Scanned int
	// Referenced is the number of walked blobs some layer record references.
	Referenced int
	// Orphans is the number of unreferenced blobs older than the grace period.
	Orphans int
	// Kept is the number of unreferenced blobs inside the grace period.
	Kept int
	// Pinned is the number of old unreferenced blobs kept because a push
	// referenced them within the grace period or an upload names them.
	Pinned int
	// Deleted is the number of orphans deleted.
	Deleted int
	// Failed is the number of orphans whose deletion failed.
	Failed     int
	FreedBytes int64
	Started    time.Time
	Duration   time.Duration
}

// Collector runs collections.
type Collector struct {
	records Records
	blobs   Blobs
	pins    Pins
	grace   time.Duration
	log     *slog.Logger
	now     func() time.Time
	running sync.Mutex
}

// New returns a Collector.
func New(cfg Config) (*Collector, error) {
	if cfg.Records == nil || cfg.Blobs == nil || cfg.Pins == nil {
		return nil, errors.New("gc: Records, Blobs and Pins are required")
	}
	if cfg.GracePeriod <= 0 {
		return nil, fmt.Errorf("gc: grace period must be positive, got %s", cfg.GracePeriod)
	}
	c := &Collector{records: cfg.Records, blobs: cfg.Blobs, pins: cfg.Pins, grace: cfg.GracePeriod, log: cfg.Logger, now: cfg.Now}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "gc")
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Run marks, then sweeps. A failed deletion is logged, counted in
// Report.Failed and returned as an error after the sweep finishes; any other
// error ends the run.
func (c *Collector) Run(ctx context.Context, opts Options) (Report, error) {
	if !c.running.TryLock() {
		return Report{}, ErrRunning
	}
	defer c.running.Unlock()
	now := c.now()
	sw := &sweep{c: c, refs: newReferences(c.records), cutoff: now.Add(-c.grace), dryRun: opts.DryRun,
		rep: Report{DryRun: opts.DryRun, Started: now}}
	err := sw.run(ctx)
	sw.rep.Duration = c.now().Sub(now)
	if err != nil {
		return sw.rep, err
	}
	rep := sw.rep
	c.log.Info("GC finished", "dry_run", rep.DryRun, "scanned", rep.Scanned, "referenced", rep.Referenced,
		"orphans", rep.Orphans, "kept_in_grace", rep.Kept, "pinned", rep.Pinned, "deleted", rep.Deleted, "failed", rep.Failed,
		"freed_bytes", rep.FreedBytes, "duration", rep.Duration)
	if sw.deleteErr != nil {
		return rep, fmt.Errorf("gc: %d deletions failed, first: %w", rep.Failed, sw.deleteErr)
	}
	return rep, nil
}

// sweep is the state of one run.
type sweep struct {
	c         *Collector
	refs      *references
	cutoff    time.Time
	dryRun    bool
	rep       Report
	deleteErr error // first failed deletion
}

func (sw *sweep) run(ctx context.Context) error {
	if err := sw.refs.mark(ctx); err != nil {
		return err
	}
	sw.c.log.Debug("GC mark done", "referenced_digests", sw.refs.size())

	// Orphans are gathered during the walk and deleted after it, so the
	// listing never races its own deletions.
	var orphans []s3.BlobInfo
	err := sw.c.blobs.WalkBlobs(ctx, func(b s3.BlobInfo) error {
		sw.rep.Scanned++
		switch {
		case sw.refs.has(b.Digest.String()):
			sw.rep.Referenced++
		case !b.LastModified.Before(sw.cutoff):
			sw.rep.Kept++
		default:
			orphans = append(orphans, b)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("gc sweep: %w", err)
	}
	for _, b := range orphans {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sw.collect(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// collect checks one orphan again and deletes it. Errors other than a failed
// DELETE end the run. The last checks and the DELETE run under the pins'
// lock, so no push step can find the blob present in between.
func (sw *sweep) collect(ctx context.Context, b s3.BlobInfo) error {
	// A new upload of the same digest since the walk saves the blob ...
	cur, err := sw.c.blobs.Stat(ctx, b.Key)
	switch {
	case errors.Is(err, s3.ErrNotFound):
		return nil // gone already
	case err != nil:
		return fmt.Errorf("gc: %w", err)
	case !cur.LastModified.Before(sw.cutoff):
		sw.rep.Kept++
		return nil
	}
	unlock := sw.c.pins.LockBlobs()
	defer unlock()
	// ... and so does a push that found or re-uploaded it within the grace
	// period, or an upload session naming it ...
	pinned, err := sw.c.pins.Pinned(ctx, b.Digest.String(), sw.cutoff)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	if pinned {
		sw.rep.Pinned++
		return nil
	}
	// ... and a layer record written since the mark. With the lock held no
	// notification is between its stat and its commit.
	if err := sw.refs.refresh(ctx); err != nil {
		return err
	}
	if sw.refs.has(b.Digest.String()) {
		sw.rep.Referenced++
		return nil
	}
	sw.rep.Orphans++
	if !sw.dryRun {
		if err := sw.c.blobs.Delete(ctx, b.Key); err != nil {
			sw.c.log.Error("GC could not delete orphan", "digest", b.Digest, "err", err)
			sw.rep.Failed++
			if sw.deleteErr == nil {
				sw.deleteErr = err
			}
			return nil
		}
		sw.c.log.Debug("GC deleted orphan", "digest", b.Digest, "size", cur.Size)
		if err := sw.c.pins.Collected(ctx, b.Digest.String()); err != nil {
			sw.c.log.Warn("GC could not end the pending charges of a deleted blob", "digest", b.Digest, "err", err)
		}
	}
	sw.rep.Deleted++
	sw.rep.FreedBytes += cur.Size
	return nil
}
