package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/hold/scan/grypescan"
	"atcr.io/pkg/hold/scan/vulndb"
)

// scanEngine is the Grype engine of the in-process workers and its
// vulnerability database (scanner.db_dir).
type scanEngine struct {
	db      *vulndb.DB
	scanner *grypescan.Scanner
}

// newScanEngine opens the vulnerability database — saying once, in the
// log, whether this hold can scan — and the engine over it. Without a
// database the engine records every image as skipped ("no vulnerability
// database") until one is imported; it notices an import by another
// process (atcr-hold scanner db import) at its next scan.
func newScanEngine(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig) (*scanEngine, error) {
	db, err := openVulnDB(ctx, logger, cfg)
	if err != nil {
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}
	tmp, err := scannerTempDir(cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	sc, err := grypescan.New(grypescan.Options{
		DB: db, TempDir: tmp,
		MaxTempDisk: int64(cfg.Scanner.MaxTempDisk), MaxFiles: cfg.Scanner.MaxFiles,
		Logger: logger,
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("scanner: %w", err)
	}
	return &scanEngine{db: db, scanner: sc}, nil
}

// watch rescans manifests whenever the database changes (an import, an
// update, another process's import), and once now for results of another
// database (one changed while the hold was down). The queue drips them at
// scanner.rescans_per_minute.
func (e *scanEngine) watch(ctx context.Context, logger *slog.Logger, q *scan.Queue) {
	e.db.OnChange(func(st vulndb.Status) {
		logger.Info("Vulnerability database changed: rescanning images", "built", st.Built.Format(time.RFC3339))
		// OnChange must not block: the marking is one UPDATE, done aside.
		go func() {
			if _, err := q.RequestRescanOutdated(context.WithoutCancel(ctx), grypescan.ScannerVersion(st.Built)); err != nil {
				logger.Error("Request rescans", "err", err)
			}
		}()
	})
	if st := e.db.Status(ctx); st.Present {
		if _, err := q.RequestRescanOutdated(ctx, grypescan.ScannerVersion(st.Built)); err != nil {
			logger.Error("Request rescans", "err", err)
		}
	}
}

// updateLoop updates the database from scanner.db_update_url every
// scanner.db_update_interval (both set; off by default, since many holds
// have no internet), until ctx ends.
func (e *scanEngine) updateLoop(ctx context.Context, bg *sync.WaitGroup, logger *slog.Logger, cfg *config.HoldConfig) {
	url, every := cfg.Scanner.DBUpdateURL, cfg.Scanner.DBUpdateInterval
	if url == "" || every <= 0 {
		return
	}
	logger.Info("Vulnerability database updates scheduled", "url", url, "interval", every)
	bg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			updated, st, err := e.db.Update(ctx, url)
			switch {
			case err != nil && ctx.Err() == nil:
				logger.Warn("Vulnerability database update failed; keeping the current one", "url", url, "err", err)
			case updated:
				logger.Info("Vulnerability database updated", "built", st.Built.Format(time.RFC3339))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// close closes the database (scans still holding it finish first).
func (e *scanEngine) close() error { return e.db.Close() }
