package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/hold/pds"
)

// Auth is how a Route is protected.
type Auth int

const (
	// Public routes are open to anyone.
	Public Auth = iota
	// ServiceAuth routes need a valid service-auth token whose lxm is the
	// route's method.
	ServiceAuth
)

// Route is one io.atcr.hold.* XRPC endpoint.
type Route struct {
	Method  string // http.MethodGet for queries, http.MethodPost for procedures
	NSID    string
	Auth    Auth
	Handler http.Handler
}

// Access makes the router's access decisions; crew.Service implements it.
// Errors are *xrpc.Error values (401, 403) or internal errors.
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
	// PDS serves com.atproto.* and /.well-known/*. Required.
	PDS *pds.Handlers
	// Verifier checks service-auth tokens. Required.
	Verifier *serviceauth.Verifier
	// Access decides blob reads and repository administration. Required.
	Access Access
	// Routes are the io.atcr.hold.* methods.
	Routes []Route
	// OCIGetBlob serves com.atproto.sync.getBlob for OCI digests, after the
	// read check. Nil answers 404 BlobNotFound for them.
	OCIGetBlob http.Handler
}

// New returns the hold's root handler.
func New(opts Options) (http.Handler, error) {
	if opts.PDS == nil || opts.Verifier == nil || opts.Access == nil {
		return nil, errors.New("server: PDS, Verifier and Access are required")
	}
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	for _, m := range opts.Middleware {
		r.Use(m)
	}
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)

	h := healthHandlers{version: opts.Version}
	r.Get("/health", h.health)
	r.Get("/xrpc/_health", h.xrpcHealth)

	mandatory := serviceauth.Middleware(opts.Verifier, nil, true)
	optional := serviceauth.Middleware(opts.Verifier, nil, false)
	admin := func(next http.Handler) http.Handler { return mandatory(requireAdmin(opts.Access, next)) }
	opts.PDS.Mount(r, admin)

	getBlob := optional(blobRead(opts.Access, ociDispatch(opts.OCIGetBlob, http.HandlerFunc(opts.PDS.SyncGetBlob))))
	r.Method(http.MethodGet, "/xrpc/com.atproto.sync.getBlob", getBlob)
	r.Method(http.MethodHead, "/xrpc/com.atproto.sync.getBlob", getBlob)

	for _, rt := range opts.Routes {
		if _, err := syntax.ParseNSID(rt.NSID); err != nil {
			return nil, fmt.Errorf("server: route %q: %w", rt.NSID, err)
		}
		if rt.Handler == nil {
			return nil, fmt.Errorf("server: route %s has no handler", rt.NSID)
		}
		handler := rt.Handler
		switch rt.Auth {
		case Public:
		case ServiceAuth:
			handler = mandatory(handler)
		default:
			return nil, fmt.Errorf("server: route %s: unknown auth %d", rt.NSID, rt.Auth)
		}
		r.Method(rt.Method, "/xrpc/"+rt.NSID, handler)
	}
	return r, nil
}
