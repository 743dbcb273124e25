package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/clientaddr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/crew"
	"atcr.io/pkg/hold/holdoci"
	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/hold/scan/grypescan"
	"atcr.io/pkg/hold/scan/remote"
	"atcr.io/pkg/s3"
)

// scanning is the hold's vulnerability scanning: the persistent queue in
// <data_dir>/scans.sqlite (the broadcaster's Dispatcher), the publisher of
// io.atcr.hold.scan records, and the hook notifyManifest hands verified
// manifests to. Nil when scanner.enabled is false.
type scanning struct {
	queue  *scan.Queue
	intake *scan.Intake
	engine *scanEngine
	remote *remote.Handler // nil until serveRemote
}

// openScanning opens the scan queue; it starts nothing (run does).
func openScanning(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig, repo *repository, members *crew.Service) (*scanning, error) {
	sc := cfg.Scanner
	if !sc.Enabled {
		logger.Info("Vulnerability scanning is disabled (scanner.enabled: false)")
		return nil, nil
	}
	engine, err := newScanEngine(ctx, logger, cfg)
	if err != nil {
		return nil, err
	}
	// The hold holds its data directory's lock: no scan of this hold runs
	// yet, so a job directory in the temp directory is a killed scan's.
	if err := removeScanLeftovers(logger, cfg); err != nil {
		return nil, errors.Join(err, engine.close())
	}
	q, err := scan.OpenQueue(ctx, scan.QueueOptions{
		DataDir:      cfg.Server.DataDir,
		Records:      &scan.Publisher{Repo: repo.PDS},
		JobTimeout:   sc.JobTimeout,
		MaxAttempts:  sc.MaxAttempts,
		RetryBackoff: sc.RetryBackoff,
		Logger:       logger,
	})
	if err != nil {
		return nil, errors.Join(err, engine.close())
	}
	intake := &scan.Intake{
		Queue: q,
		ScanOnPush: func(ctx context.Context, user syntax.DID) (bool, error) {
			return members.ScanOnPush(ctx, user, sc.ScanOnPush)
		},
	}
	return &scanning{queue: q, intake: intake, engine: engine}, nil
}

// removeScanLeftovers removes the files of scans a killed hold left in
// the scanner's temp directory; the jobs themselves run again (the queue
// takes back what the previous process had leased).
func removeScanLeftovers(logger *slog.Logger, cfg *config.HoldConfig) error {
	tmp, err := scannerTempDir(cfg)
	if err != nil {
		return err
	}
	removed, err := grypescan.RemoveLeftovers(tmp)
	if len(removed) > 0 {
		logger.Info("Removed the files of scans interrupted when the hold last stopped", "dir", tmp, "jobs", len(removed))
	}
	return err
}

// hook is holdoci's ScanHook (a nil interface when scanning is off).
func (s *scanning) hook() holdoci.ScanHook {
	if s == nil {
		return nil
	}
	return s.intake
}

// serveRemote makes the queue's jobs available to remote workers over
// io.atcr.hold.subscribeScanJobs (refused to all while
// scanner.worker_secret is empty). Blob URLs live as long as a job may.
func (s *scanning) serveRemote(logger *slog.Logger, cfg *config.HoldConfig, repo *repository, storage *blobStorage, addrs *clientaddr.Resolver) error {
	if s == nil {
		return nil
	}
	h, err := remote.NewHandler(remote.HandlerOptions{
		Dispatcher: s.queue,
		Presigner:  &remote.S3Presigner{S3: storage.svc, TTL: min(cfg.Scanner.JobTimeout+scan.DefaultLeaseMargin, s3.MaxPresignTTL)},
		Secret:     cfg.Scanner.WorkerSecret,
		HoldDID:    repo.DID().String(),
		Addrs:      addrs,
		Logger:     logger,
	})
	if err != nil {
		return fmt.Errorf("scan workers endpoint: %w", err)
	}
	if cfg.Scanner.WorkerSecret == "" {
		logger.Info("Remote scan workers are refused: scanner.worker_secret is empty")
	}
	s.remote = h
	return nil
}

// routes are the scanning XRPC endpoints (getScanStatus, and
// subscribeScanJobs once serveRemote ran).
func (s *scanning) routes() []xrpc.Route {
	if s == nil {
		return nil
	}
	if s.remote == nil {
		return s.queue.Routes()
	}
	return slices.Concat(s.queue.Routes(), s.remote.Routes())
}

// close disconnects remote workers (their jobs go back to the queue) and
// closes the queue once the workers have stopped.
func (s *scanning) close() error {
	if s == nil {
		return nil
	}
	var remoteErr error
	if s.remote != nil {
		remoteErr = s.remote.Close()
	}
	return errors.Join(remoteErr, s.queue.Close(), s.engine.close())
}

// run starts the in-process workers (scanner.workers) and the rescan
// drip (scanner.rescans_per_minute) in bg; they stop when ctx ends, the
// workers releasing the jobs they hold.
func (s *scanning) run(ctx context.Context, bg *sync.WaitGroup, logger *slog.Logger, cfg *config.HoldConfig, storage *blobStorage) {
	if s == nil {
		return
	}
	sc := cfg.Scanner
	logger.Info("Scan workers starting", "workers", sc.Workers, "job_timeout", sc.JobTimeout, "max_attempts", sc.MaxAttempts)
	bg.Go(func() {
		scan.RunWorkers(ctx, scan.WorkerOptions{
			Queue: s.queue, Scanner: s.engine.scanner, Blobs: scan.S3Blobs{S3: storage.svc},
			Workers: sc.Workers, JobTimeout: sc.JobTimeout, Logger: logger,
		})
	})
	s.engine.watch(ctx, logger, s.queue)
	s.engine.updateLoop(ctx, bg, logger, cfg)
	bg.Go(func() {
		if err := s.queue.RunRescans(ctx, sc.RescansPerMinute); err != nil {
			logger.Error("Rescans stopped", "err", err)
		}
	})
}
