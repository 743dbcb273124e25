package holdoci

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/atproto/xrpc"
)

// ownerPDSTimeout bounds the identity lookup and getRecord of one check.
const ownerPDSTimeout = 15 * time.Second

// getRecordNSID is the PDS method that tells whether a record exists.
const getRecordNSID = syntax.NSID("com.atproto.repo.getRecord")

// confirmManifestGone asks the manifest owner's PDS, found through the
// identity directory, for the record with an anonymous getRecord (records
// are public). It returns nil when the PDS says the record does not exist,
// 409 ManifestStillExists when it serves it, and 502 UpstreamFailure when
// the owner's identity or PDS cannot give an answer; anything but a clear
// "not found" keeps the layer records.
func (h *Handlers) confirmManifestGone(ctx context.Context, manifestURI syntax.ATURI) error {
	if h.identity == nil {
		return xrpc.MethodNotImplemented("this hold has no identity directory to confirm deletions with")
	}
	owner, err := manifestURI.Authority().AsDID()
	if err != nil { // callerManifestURI has checked it; kept for safety
		return xrpc.InvalidRequest("manifestUri must name a DID")
	}
	ctx, cancel := context.WithTimeout(ctx, ownerPDSTimeout)
	defer cancel()
	ident, err := h.identity.LookupDID(ctx, owner)
	if err != nil {
		h.log.Warn("resolve manifest owner", "did", owner, "err", err)
		return xrpc.UpstreamFailure("the manifest owner's identity could not be resolved")
	}
	endpoint, err := directory.PDSEndpoint(ident)
	if err != nil {
		h.log.Warn("manifest owner's PDS", "did", owner, "err", err)
		return xrpc.UpstreamFailure("the manifest owner's DID document names no usable PDS")
	}
	client := &atclient.APIClient{Client: h.pdsClient, Host: endpoint, Headers: http.Header{}}
	err = client.Get(ctx, getRecordNSID, map[string]any{
		"repo":       owner.String(),
		"collection": manifestURI.Collection().String(),
		"rkey":       manifestURI.RecordKey().String(),
	}, nil)
	switch {
	case err == nil:
		return errManifestStillExists(manifestURI.String())
	case isRecordNotFound(err):
		return nil
	default:
		h.log.Warn("getRecord on the manifest owner's PDS", "manifest", manifestURI, "pds", endpoint, "err", err)
		return xrpc.UpstreamFailure("the manifest owner's PDS could not confirm the deletion")
	}
}

// isRecordNotFound recognises a PDS's answer for a missing record: the
// reference PDS says 400 RecordNotFound, others 404.
func isRecordNotFound(err error) bool {
	var apiErr *atclient.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.Name == "RecordNotFound" || apiErr.StatusCode == http.StatusNotFound)
}
