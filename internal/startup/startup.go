package startup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"atcr.io/pkg/config"
	"atcr.io/pkg/logging"
)

// Logger builds the process logger from the log section of a config, makes it
// the slog default and starts watching SIGUSR1 until ctx ends.
func Logger(ctx context.Context, c config.LogConfig) (*slog.Logger, error) {
	level, err := logging.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	logger, toggle := logging.New(logging.Options{Level: level, Format: logging.Format(c.Format)})
	slog.SetDefault(logger)
	toggle.Watch(ctx)
	return logger, nil
}

// SignalContext returns a context cancelled by SIGTERM or SIGINT, so servers
// shut down gracefully under systemd and on Ctrl-C.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}
