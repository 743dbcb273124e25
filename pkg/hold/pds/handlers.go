package pds

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
)

// DefaultMaxBlobSize bounds uploadBlob bodies (SBOMs, vulnerability reports,
// avatars) when Handlers.MaxBlobSize is zero.
const DefaultMaxBlobSize = 16 << 20

// DefaultMaxSubscribers bounds concurrent subscribeRepos connections when
// Handlers.MaxSubscribers is zero.
const DefaultMaxSubscribers = 64

// Handlers serves the hold's com.atproto.* XRPC surface and the did:web
// documents. Write handlers assume the request was already authorised.
type Handlers struct {
	pds *PDS
	log *slog.Logger
	// MaxBlobSize bounds uploadBlob bodies; DefaultMaxBlobSize if zero.
	MaxBlobSize int64
	// MaxSubscribers bounds concurrent firehose connections (each may
	// replay up to the kept events); DefaultMaxSubscribers if zero.
	MaxSubscribers int

	subscribers atomic.Int64
}

// NewHandlers returns the HTTP handlers for p.
func NewHandlers(p *PDS) *Handlers {
	return &Handlers{pds: p, log: p.log, MaxBlobSize: DefaultMaxBlobSize}
}

// Routes lists every endpoint with who may call it. getBlob is listed for
// ATProto blob CIDs; the hold's router sends OCI digests in its cid
// parameter elsewhere before this handler is reached.
func (h *Handlers) Routes() []xrpc.Route {
	x := func(method string, nsid syntax.NSID, auth xrpc.Auth, fn http.HandlerFunc) xrpc.Route {
		return xrpc.Route{Method: method, NSID: nsid, Auth: auth, Handler: fn}
	}
	return []xrpc.Route{
		{Method: http.MethodGet, Path: "/.well-known/did.json", Auth: xrpc.Public, Handler: http.HandlerFunc(h.WellKnownDID)},
		{Method: http.MethodGet, Path: "/.well-known/atproto-did", Auth: xrpc.Public, Handler: http.HandlerFunc(h.WellKnownAtprotoDID)},
		x(http.MethodGet, "com.atproto.server.describeServer", xrpc.Public, h.DescribeServer),
		x(http.MethodGet, "com.atproto.identity.resolveHandle", xrpc.Public, h.ResolveHandle),
		x(http.MethodGet, "com.atproto.repo.describeRepo", xrpc.Public, h.DescribeRepo),
		x(http.MethodGet, "com.atproto.repo.getRecord", xrpc.Public, h.GetRecord),
		x(http.MethodGet, "com.atproto.repo.listRecords", xrpc.Public, h.ListRecords),
		x(http.MethodPost, "com.atproto.repo.uploadBlob", xrpc.Admins, h.UploadBlob),
		x(http.MethodPost, "com.atproto.repo.deleteRecord", xrpc.Admins, h.DeleteRecord),
		x(http.MethodGet, "com.atproto.sync.getRepo", xrpc.Public, h.SyncGetRepo),
		x(http.MethodGet, "com.atproto.sync.getRecord", xrpc.Public, h.SyncGetRecord),
		x(http.MethodGet, "com.atproto.sync.getBlob", xrpc.Readers, h.SyncGetBlob),
		x(http.MethodHead, "com.atproto.sync.getBlob", xrpc.Readers, h.SyncGetBlob),
		x(http.MethodGet, "com.atproto.sync.listRepos", xrpc.Public, h.SyncListRepos),
		x(http.MethodGet, "com.atproto.sync.getRepoStatus", xrpc.Public, h.SyncGetRepoStatus),
		x(http.MethodGet, "com.atproto.sync.getLatestCommit", xrpc.Public, h.SyncGetLatestCommit),
		x(http.MethodGet, "com.atproto.sync.subscribeRepos", xrpc.Public, h.SubscribeRepos),
	}
}

// writeOK writes a successful JSON response. The status is sent before an
// encoding failure could be reported, so that is only logged.
func (h *Handlers) writeOK(w http.ResponseWriter, v any) {
	if err := xrpc.WriteJSON(w, http.StatusOK, v); err != nil {
		h.log.Debug("write response", "err", err)
	}
}

// WellKnownDID serves /.well-known/did.json.
func (h *Handlers) WellKnownDID(w http.ResponseWriter, r *http.Request) {
	h.writeOK(w, h.pds.DIDDocument())
}

// WellKnownAtprotoDID serves /.well-known/atproto-did: the DID for handle resolution.
func (h *Handlers) WellKnownAtprotoDID(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(h.pds.DID().String()))
}
