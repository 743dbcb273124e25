// Package pprofhttp serves net/http/pprof on a loopback address named by an
// environment variable, for profiling under load (docs/benchmarks.md). Only
// the binaries' pprof builds (-tags pprof) import it, so release builds
// carry no profiling handlers.
package pprofhttp
