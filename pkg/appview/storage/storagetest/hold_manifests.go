package storagetest

import (
	"errors"
	"net/http"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The fake hold's manifest notifications: notifyManifest and
// notifyManifestDeleted.

// notify records the manifest's blobs as the real hold does: every blob
// (config and layers) must be stored, each gets one layer record per
// manifest, and a repeated notification records nothing new. Quota and the
// manifest record's ownership are the real hold's (pkg/hold/holdoci).
func (h *Hold) notify(w http.ResponseWriter, r *http.Request, _ syntax.DID) {
	var in atcr.HoldNotifyManifest_Input
	if !h.decode(w, r, &in) {
		return
	}
	h.mu.Lock()
	fail := h.notifyErr
	if fail != nil {
		if fail.left--; fail.left == 0 {
			h.notifyErr = nil
		}
	}
	h.mu.Unlock()
	if fail != nil {
		xrpc.WriteError(w, xrpc.NewError(fail.status, fail.name, fail.message))
		return
	}
	blobs := in.Layers
	if in.Config != nil {
		blobs = append([]atcr.HoldNotifyManifest_Descriptor{*in.Config}, blobs...)
	}
	for _, b := range blobs {
		d, err := oci.ParseDigest(b.Digest)
		if err != nil {
			xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest, "digest: "+err.Error()))
			return
		}
		if _, err := h.S3.Stat(r.Context(), s3.BlobKey(d)); errors.Is(err, s3.ErrNotFound) {
			xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorBlobNotFound, "blob "+d.String()+" is not stored on this hold"))
			return
		} else if err != nil {
			storageFailed(w, "look up a blob")
			return
		}
	}
	var written int64
	h.set(func() {
		h.notified = append(h.notified, in)
		seen := h.recorded[in.ManifestURI]
		if seen == nil {
			seen = map[string]bool{}
			h.recorded[in.ManifestURI] = seen
		}
		for _, b := range blobs {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				written++
			}
		}
	})
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldNotifyManifest_Output{LayersRecorded: written})
}

// notifyDeleted records the call and drops the manifest's layer records;
// the real hold's checks (owner, record gone from the PDS) are tested in
// pkg/hold/holdoci.
func (h *Hold) notifyDeleted(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldNotifyManifestDeleted_Input
	if !h.decode(w, r, &in) {
		return
	}
	notice := DeletedNotice{Caller: caller, ManifestURI: in.ManifestURI}
	h.mu.Lock()
	fail, hook := h.deleteErr, h.onDeleted
	h.mu.Unlock()
	if hook != nil {
		hook(notice)
	}
	if fail {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadGateway, atcr.ErrorUpstreamFailure, "the owner's PDS could not confirm the deletion"))
		return
	}
	var deleted int64
	h.set(func() {
		h.deleted = append(h.deleted, notice)
		deleted = int64(len(h.recorded[in.ManifestURI]))
		delete(h.recorded, in.ManifestURI)
	})
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldNotifyManifestDeleted_Output{LayersDeleted: deleted})
}
