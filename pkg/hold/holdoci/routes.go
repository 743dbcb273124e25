package holdoci

import (
	"net/http"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
)

// Routes lists the io.atcr.hold.* methods of this package, every one behind
// mandatory service auth (the handlers check permissions themselves).
// uploadPart answers PUT as well as POST, because getPartUploadUrl hands it
// out with method PUT when presigning is off. com.atproto.sync.getBlob is
// not listed: the PDS owns that endpoint, and the hold's router sends the
// requests whose cid is an OCI digest to GetBlob.
func (h *Handlers) Routes() []xrpc.Route {
	x := func(method string, nsid syntax.NSID, fn http.HandlerFunc) xrpc.Route {
		return xrpc.Route{Method: method, NSID: nsid, Auth: xrpc.ServiceAuth, Handler: fn}
	}
	return []xrpc.Route{
		x(http.MethodPost, atcr.HoldInitiateUploadNSID, h.InitiateUpload),
		x(http.MethodPost, atcr.HoldGetPartUploadURLNSID, h.GetPartUploadURL),
		x(http.MethodPost, atcr.HoldUploadPartNSID, h.UploadPart),
		x(http.MethodPut, atcr.HoldUploadPartNSID, h.UploadPart),
		x(http.MethodPost, atcr.HoldCompleteUploadNSID, h.CompleteUpload),
		x(http.MethodPost, atcr.HoldAbortUploadNSID, h.AbortUpload),
		x(http.MethodPost, atcr.HoldNotifyManifestNSID, h.NotifyManifest),
		x(http.MethodPost, atcr.HoldNotifyManifestDeletedNSID, h.NotifyManifestDeleted),
	}
}
