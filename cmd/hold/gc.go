package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"atcr.io/internal/startup"
	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/crew"
	"atcr.io/pkg/hold/gc"
	"atcr.io/pkg/hold/holdoci"
	"atcr.io/pkg/hold/pds"
)

// scheduleGC collects orphaned blobs every interval (never when interval is
// 0) and whenever trigger fires (SIGUSR2), until ctx ends, and compacts the
// repository after each collection. Each run logs its report.
func scheduleGC(ctx context.Context, logger *slog.Logger, c *gc.Collector, repo *pds.PDS, interval time.Duration, trigger <-chan os.Signal) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
		logger.Info("Scheduled GC enabled", "interval", interval)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-trigger:
			logger.Info("GC requested by SIGUSR2")
		}
		if _, err := c.Run(ctx, gc.Options{}); err != nil && !errors.Is(err, gc.ErrRunning) && ctx.Err() == nil {
			logger.Error("GC failed", "err", err)
		}
		compactRepo(ctx, logger, repo)
	}
}

// compactRepo drops repository blocks no longer reachable from the head
// (replaced MST nodes, old commits, deleted records) and firehose events
// beyond the replay window.
func compactRepo(ctx context.Context, logger *slog.Logger, repo *pds.PDS) {
	stats, err := repo.GC(ctx)
	if err != nil {
		if ctx.Err() == nil {
			logger.Error("Repository compaction failed", "err", err)
		}
		return
	}
	logger.Info("Repository compacted", "blocks_deleted", stats.BlocksDeleted, "events_deleted", stats.EventsDeleted)
}

// runGC is `atcr-hold gc`: one collection on a stopped hold, report to out.
func runGC(ctx context.Context, out io.Writer, cfg *config.HoldConfig, dryRun bool) error {
	ctx, stop := startup.SignalContext(ctx)
	defer stop()
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	// A running hold keeps writing layer records this process would not see
	// (its repository view is the one it opened), so a sweep here could
	// delete a blob that has just been referenced.
	lock, err := claimDataDir(cfg, "stop it first, or let it collect by itself (gc.interval, or send it SIGUSR2)")
	if err != nil {
		return err
	}
	defer lock.unlock()

	repo, err := openExistingRepo(ctx, logger, cfg)
	if err != nil {
		return err
	}
	defer closeLogged(logger, "repository", repo.Close)
	storage, err := openStorage(ctx, logger, cfg)
	if err != nil {
		return err
	}
	defer closeStorage(ctx, logger, storage)

	// Pins the hold left (blobs a push found or re-uploaded within the
	// grace period, sessions naming a digest) still count.
	pins, err := holdoci.OpenPinStore(ctx, cfg.Server.DataDir)
	if err != nil {
		return err
	}
	defer closeLogged(logger, "upload sessions", pins.Close)
	collector, err := newCollector(logger, cfg, repo.PDS, storage.svc, pins)
	if err != nil {
		return err
	}
	rep, err := collector.Run(ctx, gc.Options{DryRun: dryRun})
	printReport(out, rep, cfg.GC.GracePeriod)
	if err == nil && !dryRun {
		compactRepo(ctx, logger, repo.PDS)
	}
	return err
}

// printReport writes a GC report for people.
func printReport(w io.Writer, r gc.Report, grace time.Duration) {
	verb := "deleted"
	if r.DryRun {
		verb = "would delete"
		fmt.Fprintln(w, "Dry run: nothing was deleted.")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scanned\t%d blobs in %s\n", r.Scanned, r.Duration.Round(time.Millisecond))
	fmt.Fprintf(tw, "referenced\t%d\n", r.Referenced)
	fmt.Fprintf(tw, "kept, younger than %s\t%d\n", grace, r.Kept)
	fmt.Fprintf(tw, "kept, used by a push\t%d\n", r.Pinned)
	fmt.Fprintf(tw, "orphans\t%d\n", r.Orphans)
	fmt.Fprintf(tw, "%s\t%d (%s)\n", verb, r.Deleted, crew.FormatBytes(r.FreedBytes))
	if r.Failed > 0 {
		fmt.Fprintf(tw, "failed\t%d\n", r.Failed)
	}
	_ = tw.Flush() // a failed write to the terminal leaves nothing to report to
}
