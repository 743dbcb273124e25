//go:build pprof

package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // the profiling handlers, on http.DefaultServeMux
	"os"
)

// A build with -tags pprof serves net/http/pprof on ATCR_HOLD_PPROF_ADDR (for
// example 127.0.0.1:6061) for profiling the hold under load (docs/benchmarks.md).
// Release builds leave it out.
func init() {
	addr := os.Getenv("ATCR_HOLD_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "addr", addr, "err", err)
		}
	}()
}
