package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"atcr.io/internal/ratelimit"
	"atcr.io/internal/serve"
	"atcr.io/internal/startup"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/crew"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/hold/server"
	"atcr.io/pkg/logging"
	"atcr.io/pkg/version"
)

// runServe runs the hold until SIGTERM or SIGINT. Components start in
// dependency order and close in reverse.
func runServe(ctx context.Context, cfg *config.HoldConfig) error {
	ctx, stop := startup.SignalContext(ctx)
	defer stop()
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	// Absolute paths first: the embedded S3 server changes the process's
	// working directory while it runs (versitygw's posix backend needs it).
	lock, err := claimDataDir(cfg, "")
	if err != nil {
		return err
	}
	defer lock.unlock()
	logger.Info("Starting atcr-hold", "version", version.String(), "public_url", cfg.Server.PublicURL,
		"data_dir", cfg.Server.DataDir, "insecure_local_dev", cfg.InsecureLocalDev)
	startup.WarnDeprecatedIdentity(logger, cfg.Identity, cfg.InsecureLocalDev)

	storage, err := openStorage(ctx, logger, cfg)
	if err != nil {
		return err
	}
	defer closeStorage(ctx, logger, storage)

	repo, err := openRepo(ctx, logger, cfg, storage.svc)
	if err != nil {
		return err
	}
	defer closeLogged(logger, "repository", repo.Close)
	logger.Info("Repository open", "did", repo.DID())

	members, err := openCrew(ctx, logger, cfg, repo)
	if err != nil {
		return err
	}
	dir, err := newDirectory(cfg)
	if err != nil {
		return err
	}
	if err := syncProfile(ctx, logger, cfg, repo); err != nil {
		return err
	}
	reg, err := openRegistration(logger, cfg, repo, dir)
	if err != nil {
		return err
	}
	scans, err := openScanning(ctx, logger, cfg, repo, members)
	if err != nil {
		return err
	}
	defer closeLogged(logger, "scan queue", scans.close)
	blobs, err := openBlobXRPC(ctx, logger, cfg, repo, storage, members, dir, scans.hook())
	if err != nil {
		return err
	}
	defer closeLogged(logger, "upload sessions", blobs.Close)

	addrs, err := clientAddrs(cfg)
	if err != nil {
		return err
	}
	if err := scans.serveRemote(logger, cfg, repo, storage, addrs); err != nil {
		return err
	}
	pdsHandlers := pds.NewHandlers(repo.PDS)
	pdsHandlers.MaxSubscribers = cfg.Server.MaxFirehoseSubscribers
	handler, err := server.New(server.Options{
		Version: version.String(),
		Middleware: []func(http.Handler) http.Handler{
			logging.Middleware(logger),
			ratelimit.ClientMiddleware(addrs), // identity lookups are charged per client address
		},
		Verifier: &serviceauth.Verifier{Audience: repo.DID(), ServiceID: "atcr_hold", Dir: dir},
		Access:   members,
		Routes: slices.Concat(pdsHandlers.Routes(), crew.NewHandlers(members).Routes(), blobs.Routes(), scans.routes(),
			registrationRoutes(reg)),
		OCIGetBlob: http.HandlerFunc(blobs.GetBlob),
	})
	if err != nil {
		return err
	}

	collector, err := newCollector(logger, cfg, repo.PDS, storage.svc, blobs)
	if err != nil {
		return err
	}
	// The signal handler is in place before anyone can learn the address:
	// an unhandled SIGUSR2 would terminate the process.
	trigger, stopTrigger := gcTrigger()
	defer stopTrigger()
	// The GC loop ends with its own context, cancelled on every return:
	// serving can fail (the port is taken) without a signal ending ctx.
	gcCtx, stopGC := context.WithCancel(ctx)
	var background sync.WaitGroup
	defer background.Wait() // before the repository and storage close
	defer stopGC()
	background.Go(func() { scheduleGC(gcCtx, logger, collector, repo.PDS, cfg.GC.Interval, trigger) })
	// The scan workers share that context: they stop (releasing their
	// jobs) before the queue, the repository and storage close.
	scans.run(gcCtx, &background, logger, cfg, storage)

	ln, err := serve.Listen(ctx, cfg.Server.Addr)
	if err != nil {
		return err
	}
	// After Listen: the authorization request makes the owner's PDS fetch
	// the client metadata from this hold.
	if reg != nil {
		background.Go(func() { reg.Run(gcCtx) })
	}
	// No ReadTimeout: an upload part may take long; uploadPart renews an
	// idle read deadline itself. Idle keep-alive connections are closed.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: cfg.Server.IdleTimeout}
	return serve.Run(ctx, logger, srv, ln, cfg.Server.ShutdownTimeout)
}

// claimDataDir makes the config's paths absolute, creates the data
// directory and takes its lock, for every command that must not run next
// to a running hold. whenLocked, if set, tells the operator what to do when
// another process holds the lock.
func claimDataDir(cfg *config.HoldConfig, whenLocked string) (*dataDirLock, error) {
	if err := absolutePaths(cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	lock, err := lockDataDir(cfg.Server.DataDir)
	if errors.Is(err, errLocked) && whenLocked != "" {
		return nil, fmt.Errorf("%w: %s", err, whenLocked)
	}
	return lock, err
}

// absolutePaths makes the config's file paths independent of the working
// directory.
func absolutePaths(cfg *config.HoldConfig) error {
	for _, p := range []*string{&cfg.Server.DataDir, &cfg.QuotasFile, &cfg.Registration.ProfileAvatar} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("path %s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

func closeStorage(ctx context.Context, logger *slog.Logger, storage *blobStorage) {
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := storage.close(stopCtx); err != nil {
		logger.Error("Embedded S3 did not stop cleanly", "err", err)
	}
}

func closeLogged(logger *slog.Logger, what string, closeFn func() error) {
	if err := closeFn(); err != nil {
		logger.Error("Close failed", "what", what, "err", err)
	}
}
