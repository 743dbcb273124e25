package pds

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// DefaultMaxBlobSize bounds uploadBlob bodies (SBOMs, vulnerability reports,
// avatars) when Handlers.MaxBlobSize is zero.
const DefaultMaxBlobSize = 16 << 20

// Access says which authorisation the hold's router must apply to a route.
type Access int

const (
	// AccessPublic routes are open to anyone.
	AccessPublic Access = iota
	// AccessBlobRead routes (getBlob) are public on a public hold, otherwise
	// crew with blob:read. The router also dispatches OCI digests in the cid
	// parameter to the presign handler before falling back to this one.
	AccessBlobRead
	// AccessWrite routes need the hold owner or a crew admin.
	AccessWrite
)

// Route is one HTTP endpoint of the PDS.
type Route struct {
	Method  string
	Path    string
	Access  Access
	Handler http.HandlerFunc
}

// Handlers serves the hold's com.atproto.* XRPC surface and the did:web
// documents. Write handlers assume the request was already authorised.
type Handlers struct {
	pds *PDS
	log *slog.Logger
	// MaxBlobSize bounds uploadBlob bodies; DefaultMaxBlobSize if zero.
	MaxBlobSize int64
}

// NewHandlers returns the HTTP handlers for p.
func NewHandlers(p *PDS) *Handlers {
	return &Handlers{pds: p, log: p.log, MaxBlobSize: DefaultMaxBlobSize}
}

// Routes lists every endpoint with the access class the router must enforce.
func (h *Handlers) Routes() []Route {
	x := func(method, nsid string, access Access, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: "/xrpc/" + nsid, Access: access, Handler: fn}
	}
	return []Route{
		{Method: http.MethodGet, Path: "/.well-known/did.json", Handler: h.WellKnownDID},
		{Method: http.MethodGet, Path: "/.well-known/atproto-did", Handler: h.WellKnownAtprotoDID},
		x(http.MethodGet, "com.atproto.server.describeServer", AccessPublic, h.DescribeServer),
		x(http.MethodGet, "com.atproto.identity.resolveHandle", AccessPublic, h.ResolveHandle),
		x(http.MethodGet, "com.atproto.repo.describeRepo", AccessPublic, h.DescribeRepo),
		x(http.MethodGet, "com.atproto.repo.getRecord", AccessPublic, h.GetRecord),
		x(http.MethodGet, "com.atproto.repo.listRecords", AccessPublic, h.ListRecords),
		x(http.MethodPost, "com.atproto.repo.uploadBlob", AccessWrite, h.UploadBlob),
		x(http.MethodPost, "com.atproto.repo.deleteRecord", AccessWrite, h.DeleteRecord),
		x(http.MethodGet, "com.atproto.sync.getRepo", AccessPublic, h.SyncGetRepo),
		x(http.MethodGet, "com.atproto.sync.getRecord", AccessPublic, h.SyncGetRecord),
		x(http.MethodGet, "com.atproto.sync.getBlob", AccessBlobRead, h.SyncGetBlob),
		x(http.MethodHead, "com.atproto.sync.getBlob", AccessBlobRead, h.SyncGetBlob),
		x(http.MethodGet, "com.atproto.sync.listRepos", AccessPublic, h.SyncListRepos),
		x(http.MethodGet, "com.atproto.sync.getRepoStatus", AccessPublic, h.SyncGetRepoStatus),
		x(http.MethodGet, "com.atproto.sync.getLatestCommit", AccessPublic, h.SyncGetLatestCommit),
		x(http.MethodGet, "com.atproto.sync.subscribeRepos", AccessPublic, h.SubscribeRepos),
	}
}

// Mount registers the public routes on r and the write routes wrapped in
// writeAuth; with a nil writeAuth the write routes are left out. getBlob is
// never mounted here: the router owns it, because it combines the OCI-digest
// presign path with SyncGetBlob and applies the hold's read policy.
func (h *Handlers) Mount(r chi.Router, writeAuth func(http.Handler) http.Handler) {
	for _, rt := range h.Routes() {
		switch rt.Access {
		case AccessPublic:
			r.Method(rt.Method, rt.Path, rt.Handler)
		case AccessWrite:
			if writeAuth != nil {
				r.Method(rt.Method, rt.Path, writeAuth(rt.Handler))
			}
		}
	}
}

// WellKnownDID serves /.well-known/did.json.
func (h *Handlers) WellKnownDID(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.pds.DIDDocument())
}

// WellKnownAtprotoDID serves /.well-known/atproto-did: the DID for handle resolution.
func (h *Handlers) WellKnownAtprotoDID(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(h.pds.DID().String()))
}
