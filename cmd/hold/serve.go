package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-chi/chi/v5"

	"atcr.io/internal/serve"
	"atcr.io/internal/startup"
	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/server"
	"atcr.io/pkg/logging"
	"atcr.io/pkg/version"
)

// runServe runs the hold until SIGTERM or SIGINT.
func runServe(ctx context.Context, cfg *config.HoldConfig) error {
	ctx, stop := startup.SignalContext(ctx)
	defer stop()
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	// Absolute paths first: the embedded S3 server changes the process's
	// working directory while it runs (versitygw's posix backend needs it).
	if err := absolutePaths(cfg); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	logger.Info("Starting atcr-hold", "version", version.String(), "public_url", cfg.Server.PublicURL,
		"data_dir", cfg.Server.DataDir, "insecure_local_dev", cfg.InsecureLocalDev)

	storage, err := openStorage(ctx, logger, cfg)
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := storage.close(stopCtx); err != nil {
			logger.Error("Embedded S3 did not stop cleanly", "err", err)
		}
	}()

	handler := server.New(server.Options{
		Logger:     logger,
		Version:    version.String(),
		Middleware: []func(http.Handler) http.Handler{logging.Middleware(logger)},
		Mount:      []func(chi.Router){},
	})
	ln, err := serve.Listen(ctx, cfg.Server.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	return serve.Run(ctx, logger, srv, ln, cfg.Server.ShutdownTimeout)
}

// absolutePaths makes the config's file paths independent of the working
// directory.
func absolutePaths(cfg *config.HoldConfig) error {
	for _, p := range []*string{&cfg.Server.DataDir, &cfg.QuotasFile} {
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
