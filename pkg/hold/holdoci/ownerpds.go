package holdoci

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/atproto/xrpc"
)

// ownerPDSTimeout bounds the identity lookup and getRecord of one read.
const ownerPDSTimeout = 15 * time.Second

// upstreamRetryAfter is the Retry-After sent when the owner's identity or
// PDS could not answer: long enough for a blip to pass.
const upstreamRetryAfter = 10 * time.Second

// getRecordNSID is the PDS method that reads a record.
const getRecordNSID = syntax.NSID("com.atproto.repo.getRecord")

// errRecordGone: the owner's PDS answered RecordNotFound for the record.
var errRecordGone = errors.New("the owner's PDS has no such record")

// ownerRecord is a record as its owner's PDS serves it.
type ownerRecord struct {
	URI   string          `json:"uri"`
	CID   string          `json:"cid"`
	Value json.RawMessage `json:"value"`
}

// readOwnerRecord asks the record owner's PDS, found through the identity
// directory, for the record with an anonymous getRecord (records are
// public), through the guarded client. It returns errRecordGone only for
// the PDS's own RecordNotFound answer; an identity that does not resolve,
// a DID document without a PDS, or a PDS that fails, times out or answers
// anything else is a 502 UpstreamFailure naming the upstream, never a
// "not found".
func (h *Handlers) readOwnerRecord(ctx context.Context, uri syntax.ATURI) (*ownerRecord, error) {
	if h.identity == nil {
		return nil, xrpc.MethodNotImplemented("this hold has no identity directory to reach users' PDSes with")
	}
	owner, err := uri.Authority().AsDID()
	if err != nil { // callers have checked it; kept for safety
		return nil, xrpc.InvalidRequest("the AT-URI must name a DID")
	}
	ctx, cancel := context.WithTimeout(ctx, ownerPDSTimeout)
	defer cancel()
	ident, err := h.identity.LookupDID(ctx, owner)
	if err != nil {
		h.log.Warn("resolve record owner", "did", owner, "err", err)
		return nil, xrpc.UpstreamFailure("the identity of " + owner.String() + " could not be resolved").WithRetryAfter(upstreamRetryAfter)
	}
	endpoint, err := directory.PDSEndpoint(ident)
	if err != nil {
		h.log.Warn("record owner's PDS", "did", owner, "err", err)
		return nil, xrpc.UpstreamFailure("the DID document of " + owner.String() + " names no usable PDS")
	}
	client := &atclient.APIClient{Client: h.pdsClient, Host: endpoint, Headers: http.Header{}}
	var out ownerRecord
	err = client.Get(ctx, getRecordNSID, map[string]any{
		"repo":       owner.String(),
		"collection": uri.Collection().String(),
		"rkey":       uri.RecordKey().String(),
	}, &out)
	switch {
	case err == nil:
		return &out, nil
	case isRecordNotFound(err):
		return nil, errRecordGone
	default:
		h.log.Warn("getRecord on the owner's PDS", "uri", uri, "pds", endpoint, "err", err)
		return nil, xrpc.UpstreamFailure("the PDS of " + owner.String() + " (" + endpointHost(endpoint) + ") did not answer getRecord").
			WithRetryAfter(upstreamRetryAfter)
	}
}

// confirmManifestGone returns nil when the owner's PDS says the manifest
// record does not exist, 409 ManifestStillExists when it serves it, and
// the upstream error when the owner's identity or PDS cannot give an
// answer: anything but a clear RecordNotFound keeps the layer records.
func (h *Handlers) confirmManifestGone(ctx context.Context, manifestURI syntax.ATURI) error {
	_, err := h.readOwnerRecord(ctx, manifestURI)
	switch {
	case err == nil:
		return errManifestStillExists(manifestURI.String())
	case errors.Is(err, errRecordGone):
		return nil
	default:
		return err
	}
}

// isRecordNotFound recognises a PDS's answer for a missing record: the
// XRPC error RecordNotFound (the reference PDS sends it with status 400).
// A bare 404 is not enough: it is what a proxy, a wrong path or a PDS that
// does not serve this repository answers too, and believing it would let a
// self-hosted PDS free quota for a record it still serves to others.
func isRecordNotFound(err error) bool {
	var apiErr *atclient.APIError
	return errors.As(err, &apiErr) && apiErr.Name == "RecordNotFound"
}

// endpointHost returns the host of an endpoint URL, for messages.
func endpointHost(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return endpoint
}
