package pprofhttp

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // the profiling handlers, on http.DefaultServeMux
	"os"
)

// ServeFromEnv serves the profiling handlers on the address in the
// environment variable env (for example 127.0.0.1:6060), in the
// background; without it, it does nothing.
func ServeFromEnv(env string) {
	addr := os.Getenv(env)
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "env", env, "addr", addr, "err", err)
		}
	}()
}
