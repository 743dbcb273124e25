package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/oci"
)

// Options configures New. Every service is required; pkg/appview/storage's
// Store implements them all.
type Options struct {
	Controller access.Controller
	Resolver   Resolver
	Manifests  ManifestService
	Tags       TagService
	Referrers  ReferrerService
	Catalog    CatalogService
	Blobs      BlobService
	Uploads    UploadService
	// BaseURL, when set, makes Location and Link URLs absolute
	// ("https://atcr.io"); empty means relative URLs.
	BaseURL string
	// BodyIdleTimeout ends a blob upload whose client sends nothing for
	// this long (DefaultBodyIdleTimeout when zero): an upload holds memory
	// while its body streams.
	BodyIdleTimeout time.Duration
	// Pulls, when set, counts every manifest GET (not HEAD) that is
	// answered, as Docker Hub counts pulls; it must not block.
	Pulls PullCounter
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// PullCounter counts pulls per repository (the UI index's counters).
type PullCounter interface {
	CountPull(did, repository string)
}

// Registry is the /v2 handler. It matches the full escaped request path
// itself, so it can be registered on a chi router with Handle("/v2") plus
// Handle("/v2/*"), or with Mount("/v2"). The router in front must not
// clean paths ("/../" must reach the name check, which refuses it).
type Registry struct {
	ctrl      access.Controller
	resolver  Resolver
	manifests ManifestService
	tags      TagService
	referrers ReferrerService
	catalog   CatalogService
	blobs     BlobService
	uploads   UploadService
	urls      urlBuilder
	bodyIdle  time.Duration
	pulls     PullCounter
	log       *slog.Logger
	handlers  map[resource]methods
}

// handlerFunc serves one method of one resource. It writes the success
// response itself and returns any error for the dispatcher to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request, req *request) error

// methods is a resource's method table.
type methods map[string]handlerFunc

// request is what the pipeline learned before the handler runs: filled in
// step by step by ServeHTTP, only read by handlers.
type request struct {
	route route
	repo  Repo // zero for the base and catalog routes
	grant *access.Grant
}

// New returns the registry handler.
func New(opts Options) (*Registry, error) {
	switch {
	case opts.Controller == nil:
		return nil, errors.New("registry: Options.Controller is required")
	case opts.Resolver == nil, opts.Manifests == nil, opts.Tags == nil, opts.Referrers == nil,
		opts.Catalog == nil, opts.Blobs == nil, opts.Uploads == nil:
		return nil, errors.New("registry: every service (Resolver, Manifests, Tags, Referrers, Catalog, Blobs, Uploads) is required")
	}
	prefix := strings.TrimRight(opts.BaseURL, "/")
	if prefix != "" {
		u, err := url.Parse(prefix)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return nil, fmt.Errorf("registry: BaseURL %q must be an absolute http(s) URL", opts.BaseURL)
		}
	}
	reg := &Registry{
		ctrl:      opts.Controller,
		resolver:  opts.Resolver,
		manifests: opts.Manifests,
		tags:      opts.Tags,
		referrers: opts.Referrers,
		catalog:   opts.Catalog,
		blobs:     opts.Blobs,
		uploads:   opts.Uploads,
		urls:      urlBuilder{prefix: prefix},
		bodyIdle:  cmp.Or(opts.BodyIdleTimeout, DefaultBodyIdleTimeout),
		pulls:     opts.Pulls,
		log:       opts.Logger,
	}
	if reg.log == nil {
		reg.log = slog.Default()
	}
	reg.handlers = map[resource]methods{
		resourceBase:    {http.MethodGet: reg.getBase, http.MethodHead: reg.getBase},
		resourceCatalog: {http.MethodGet: reg.getCatalog},
		resourceManifest: {
			http.MethodGet: reg.getManifest, http.MethodHead: reg.getManifest,
			http.MethodPut: reg.putManifest, http.MethodDelete: reg.deleteManifest,
		},
		resourceBlob: {
			http.MethodGet: reg.getBlob, http.MethodHead: reg.headBlob, http.MethodDelete: reg.deleteBlob,
		},
		resourceUploadStart: {http.MethodPost: reg.startUpload},
		resourceUpload: {
			http.MethodGet: reg.getUpload, http.MethodPatch: reg.patchUpload,
			http.MethodPut: reg.putUpload, http.MethodDelete: reg.deleteUpload,
		},
		resourceTags:      {http.MethodGet: reg.getTags},
		resourceReferrers: {http.MethodGet: reg.getReferrers},
	}
	return reg, nil
}

// ServeHTTP is the single request pipeline: route, method, name,
// authorization, identity, handler, error.
func (reg *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	// A manifest is served with the media type its record names, which
	// its owner chose: no browser (or cache in front) may sniff it into
	// HTML on this origin.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rt, ok := matchRoute(r.URL.EscapedPath())
	if !ok {
		reg.fail(w, r, oci.ErrorCodeNameUnknown.WithMessage("no such registry endpoint"))
		return
	}
	table := reg.handlers[rt.resource]
	handle, ok := table[r.Method]
	if !ok {
		w.Header().Set("Allow", allowHeader(table))
		reg.fail(w, r, oci.ErrorCodeUnsupported.WithMessage(r.Method+" is not supported here"))
		return
	}
	req := &request{route: rt}
	if rt.resource != resourceBase && rt.resource != resourceCatalog {
		name, err := oci.ParseRepository(rt.name) // an empty name is invalid too
		if err != nil {
			reg.fail(w, r, err)
			return
		}
		req.repo.Name = name
	}
	want := wantedAccess(r, req)
	grant, err := reg.authorize(w, r, want)
	if err != nil {
		if rt.resource == resourceBase && r.Header.Get("Authorization") == "" && w.Header().Get("WWW-Authenticate") != "" {
			// The ping without credentials: the challenge with the same {}
			// body as the authorized answer (see writeBase). A rejected
			// token still gets the error envelope saying why.
			writeBase(w, r, http.StatusUnauthorized)
			return
		}
		reg.fail(w, r, err)
		return
	}
	req.grant = grant
	ctx := access.WithGrant(r.Context(), grant)
	r = r.WithContext(ctx)
	if !req.repo.Name.IsZero() {
		owner, err := reg.resolver.ResolveOwner(ctx, req.repo.Name.Identity())
		if err != nil {
			reg.fail(w, r, err)
			return
		}
		// Writes go through the owner's PDS session, so they need the
		// owner's own grant. The grant names the repository, and a handle
		// can change hands while a token is valid.
		if writes(want, req.repo.Name.String()) && grant.Subject != owner.DID {
			reg.fail(w, r, oci.ErrorCodeDenied.WithMessage(fmt.Sprintf(
				"%s now belongs to another account; log in again", req.repo.Name.Identity())))
			return
		}
		req.repo.Owner = owner
	}
	if err := handle(w, r, req); err != nil {
		reg.fail(w, r, err)
	}
}

// authorize asks the Controller for what the request needs (wantedAccess).
// A Challenge sets its headers and becomes UNAUTHORIZED; the
// Controller's DENIED (an *oci.Error) passes through.
func (reg *Registry) authorize(w http.ResponseWriter, r *http.Request, want []access.Access) (*access.Grant, error) {
	grant, err := reg.ctrl.Authorized(r, want...)
	if err == nil {
		return grant, nil
	}
	var ch access.Challenge
	if errors.As(err, &ch) {
		ch.SetHeaders(r, w)
		return nil, oci.ErrorCodeUnauthorized.WithMessage(ch.Error())
	}
	return nil, err
}

// wantedAccess is distribution's rule: reads need pull, writes pull+push,
// deletes delete; a mount also needs pull on the repository it mounts from.
// Upload sessions always need pull+push.
func wantedAccess(r *http.Request, req *request) []access.Access {
	switch req.route.resource {
	case resourceBase:
		return nil
	case resourceCatalog:
		return []access.Access{{Type: access.TypeRegistry, Name: "catalog", Action: access.ActionAll}}
	}
	repo := func(action string) access.Access {
		return access.Access{Type: access.TypeRepository, Name: req.repo.Name.String(), Action: action}
	}
	// Upload sessions are part of a push whatever the method: reading one's
	// state or cancelling it needs push like writing to it.
	uploading := req.route.resource == resourceUpload || req.route.resource == resourceUploadStart
	switch {
	case uploading:
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return []access.Access{repo(access.ActionPull)}
	case r.Method == http.MethodDelete:
		return []access.Access{repo(access.ActionDelete)}
	}
	want := []access.Access{repo(access.ActionPull), repo(access.ActionPush)}
	if req.route.resource == resourceUploadStart {
		if from := r.URL.Query().Get("from"); from != "" && r.URL.Query().Get("mount") != "" {
			if src, err := oci.ParseRepository(from); err == nil && src != req.repo.Name {
				want = append(want, access.Access{Type: access.TypeRepository, Name: src.String(), Action: access.ActionPull})
			}
		}
	}
	return want
}

// writes reports whether want asks to push to or delete from the named
// repository.
func writes(want []access.Access, name string) bool {
	for _, a := range want {
		if a.Type == access.TypeRepository && a.Name == name && (a.Action == access.ActionPush || a.Action == access.ActionDelete) {
			return true
		}
	}
	return false
}

// fail writes err as the OCI error response. Server-side failures are
// logged with their full chain, which the response never shows.
func (reg *Registry) fail(w http.ResponseWriter, r *http.Request, err error) {
	out := ociError(err)
	status := oci.FromError(out).Code.HTTPStatus() // the first entry's, as ServeJSON
	if retry := retryAfter(status); retry != "" {
		// An upstream outage or a full upload budget passes: say when to
		// come back, so a client can tell it from a registry bug.
		w.Header().Set("Retry-After", retry)
	}
	switch {
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		// The client went away (or the server is shutting down): no one
		// reads this answer, and nothing upstream failed.
		reg.log.InfoContext(r.Context(), "registry: client went away",
			"method", r.Method, "path", r.URL.EscapedPath(), "err", err)
	case errors.Is(err, ErrManifestRecordGone):
		// A push raced a DELETE of the same digest: the client retries;
		// nothing failed.
		reg.log.InfoContext(r.Context(), "registry: a push raced a delete of its manifest",
			"method", r.Method, "path", r.URL.EscapedPath(), "status", status, "err", err)
	case status >= http.StatusInternalServerError:
		reg.log.ErrorContext(r.Context(), "registry: request failed",
			"method", r.Method, "path", r.URL.EscapedPath(), "status", status, "err", err)
	default:
		reg.log.DebugContext(r.Context(), "registry: request refused",
			"method", r.Method, "path", r.URL.EscapedPath(), "status", status, "err", err)
	}
	oci.ServeJSON(w, out)
}

// retryAfter is the Retry-After of a response with this status, in
// seconds, or "" for a status a retry does not help.
func retryAfter(status int) string {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return "10"
	}
	return ""
}

func allowHeader(table methods) string {
	names := make([]string, 0, len(table))
	for m := range table {
		names = append(names, m)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
