package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
)

// Access makes the router's access decisions for xrpc.Readers and
// xrpc.Admins routes; crew.Service implements it. Errors are *xrpc.Error
// values (401, 403) or internal errors.
type Access interface {
	CanRead(ctx context.Context, caller syntax.DID) error
	CanAdmin(ctx context.Context, caller syntax.DID) error
}

// Options are the pieces the router mounts.
type Options struct {
	Version string
	// Middleware wraps every request (request logging, for example). It
	// must keep http.Hijacker working for the firehose.
	Middleware []func(http.Handler) http.Handler
	// Verifier checks service-auth tokens. Required.
	Verifier *serviceauth.Verifier
	// Access decides blob reads and repository administration. Required.
	Access Access
	// Routes are the endpoints of the hold's packages (PDS, crew, blob
	// uploads), each mounted behind what its Auth asks for. A method and
	// path may appear once.
	Routes []xrpc.Route
	// OCIGetBlob serves the com.atproto.sync.getBlob requests whose cid is
	// an OCI digest, after the getBlob route's read check; the route's own
	// handler gets the rest. Nil answers 404 BlobNotFound for them.
	OCIGetBlob http.Handler
}

// New returns the hold's root handler.
func New(opts Options) (http.Handler, error) {
	if opts.Verifier == nil || opts.Access == nil {
		return nil, errors.New("server: Verifier and Access are required")
	}
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	for _, m := range opts.Middleware {
		r.Use(m)
	}
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)

	m := &mounter{
		router:     r,
		access:     opts.Access,
		mandatory:  serviceauth.Middleware(opts.Verifier, nil, true),
		optional:   serviceauth.Middleware(opts.Verifier, nil, false),
		ociGetBlob: opts.OCIGetBlob,
		mounted:    map[string]bool{},
	}
	for _, rt := range append(healthRoutes(opts.Version), opts.Routes...) {
		if err := m.mount(rt); err != nil {
			return nil, err
		}
	}
	return r, nil
}
