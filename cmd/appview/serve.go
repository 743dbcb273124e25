package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"atcr.io/internal/serve"
	"atcr.io/internal/startup"
	"atcr.io/pkg/config"
	"atcr.io/pkg/logging"
	"atcr.io/pkg/version"
)

// runServe runs the AppView until SIGTERM or SIGINT.
func runServe(ctx context.Context, cfg *config.AppViewConfig) error {
	ctx, stop := startup.SignalContext(ctx)
	defer stop()
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	logger.Info("Starting atcr-appview", "version", version.String(), "base_url", cfg.Server.BaseURL,
		"service", cfg.ServiceName(), "insecure_local_dev", cfg.InsecureLocalDev)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok"}`)
	})
	ln, err := serve.Listen(ctx, cfg.Server.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: logging.Middleware(logger)(mux), ReadHeaderTimeout: 10 * time.Second}
	return serve.Run(ctx, logger, srv, ln, cfg.Server.ShutdownTimeout)
}
