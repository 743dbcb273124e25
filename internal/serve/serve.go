package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Listen opens addr ("host:port"; port 0 picks a free one) so the caller can
// learn the bound address before serving.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Run serves srv on ln until ctx is done, then shuts it down, giving
// in-flight requests up to grace to complete. It returns nil after a clean
// shutdown and the serve error otherwise.
func Run(ctx context.Context, logger *slog.Logger, srv *http.Server, ln net.Listener, grace time.Duration) error {
	return RunWith(ctx, logger, srv, ln, Options{Grace: grace})
}

// Options configures RunWith.
type Options struct {
	// Grace is how long in-flight requests may take to finish on shutdown,
	// the drain included.
	Grace time.Duration
	// Drain is how long the server goes on answering after ctx ends, before
	// it stops accepting connections (drain.go); 0 skips it. It is cut to
	// half of Grace.
	Drain time.Duration
	// HealthPath is answered 503 while draining ("" for none).
	HealthPath string
}

// RunWith is Run with a drain before the shutdown (Options).
func RunWith(ctx context.Context, logger *slog.Logger, srv *http.Server, ln net.Listener, opts Options) error {
	grace := opts.Grace
	var d *drainer // nil: no drain
	if opts.Drain > 0 {
		d = &drainer{healthPath: opts.HealthPath}
		srv.Handler = d.wrap(srv.Handler)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("Listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	logger.Info("Shutting down", "grace", grace)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if d != nil {
		drainStart := time.Now()
		d.drain(min(opts.Drain, grace/2), drainQuiet)
		logger.Info("Drained", "took", time.Since(drainStart).Round(time.Millisecond),
			"health_checked", d.healthSeen.Load() != 0)
	}
	err := srv.Shutdown(shutdownCtx)
	if serveErr := <-errc; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), serveErr)
	}
	if err != nil {
		// Requests still running after the grace period are cut off.
		srv.Close()
		return fmt.Errorf("shutdown after %s: %w", grace, err)
	}
	return nil
}
