package holdoci

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"atcr.io/pkg/atproto/atcr"
)

// GetBlobNSID is the method GetBlob serves for OCI digests.
const GetBlobNSID = "com.atproto.sync.getBlob"

// Auth says which service authentication the router must put in front of a
// route.
type Auth int

const (
	// AuthMandatory routes need a service token whose lxm is the route's
	// NSID; the handler reads the caller with serviceauth.CallerDID.
	AuthMandatory Auth = iota
	// AuthOptional routes take a token when one is sent and serve anonymous
	// callers too (the Authorizer decides).
	AuthOptional
)

// Route is one endpoint of this package.
type Route struct {
	Method  string
	Path    string
	NSID    string
	Auth    Auth
	Handler http.HandlerFunc
}

// Routes lists every endpoint. uploadPart answers PUT as well as POST,
// because getPartUploadUrl hands it out with method PUT when presigning is
// off. getBlob is listed for completeness; Mount leaves it to the router
// (see IsOCIDigestParam).
func (h *Handlers) Routes() []Route {
	x := func(method, nsid string, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: "/xrpc/" + nsid, NSID: nsid, Auth: AuthMandatory, Handler: fn}
	}
	blob := func(method string) Route {
		return Route{Method: method, Path: "/xrpc/" + GetBlobNSID, NSID: GetBlobNSID, Auth: AuthOptional, Handler: h.GetBlob}
	}
	return []Route{
		x(http.MethodPost, atcr.HoldInitiateUploadNSID, h.InitiateUpload),
		x(http.MethodPost, atcr.HoldGetPartUploadURLNSID, h.GetPartUploadURL),
		x(http.MethodPost, atcr.HoldUploadPartNSID, h.UploadPart),
		x(http.MethodPut, atcr.HoldUploadPartNSID, h.UploadPart),
		x(http.MethodPost, atcr.HoldCompleteUploadNSID, h.CompleteUpload),
		x(http.MethodPost, atcr.HoldAbortUploadNSID, h.AbortUpload),
		x(http.MethodPost, atcr.HoldNotifyManifestNSID, h.NotifyManifest),
		x(http.MethodPost, atcr.HoldNotifyManifestDeletedNSID, h.NotifyManifestDeleted),
		blob(http.MethodGet),
		blob(http.MethodHead),
	}
}

// Mount registers the AuthMandatory routes on r, each wrapped in
// auth(<its NSID>). The getBlob routes are not mounted: the router owns
// com.atproto.sync.getBlob and dispatches OCI digests to GetBlob.
func (h *Handlers) Mount(r chi.Router, auth func(lxm string) func(http.Handler) http.Handler) {
	for _, rt := range h.Routes() {
		if rt.Auth == AuthMandatory {
			r.Method(rt.Method, rt.Path, auth(rt.NSID)(rt.Handler))
		}
	}
}
