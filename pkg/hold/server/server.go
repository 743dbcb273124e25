package server

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// Options are the pieces the router mounts.
type Options struct {
	Logger  *slog.Logger
	Version string
	// Middleware wraps every request (request logging, for example).
	Middleware []func(http.Handler) http.Handler
	// Mount adds further routes (the PDS and blob XRPC handlers).
	Mount []func(chi.Router)
}

// New returns the hold's root handler.
func New(opts Options) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	for _, m := range opts.Middleware {
		r.Use(m)
	}
	h := healthHandlers{version: opts.Version}
	r.Get("/health", h.health)
	r.Get("/xrpc/_health", h.xrpcHealth)
	for _, mount := range opts.Mount {
		mount(r)
	}
	return r
}
