//go:build pprof

package main

import "atcr.io/internal/pprofhttp"

// A build with -tags pprof serves net/http/pprof on ATCR_PPROF_ADDR (for
// example 127.0.0.1:6060) for profiling under load (docs/benchmarks.md).
// Release builds leave it out.
func init() { pprofhttp.ServeFromEnv("ATCR_PPROF_ADDR") }
