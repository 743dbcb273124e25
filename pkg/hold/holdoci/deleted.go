package holdoci

import (
	"net/http"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
)

// NotifyManifestDeleted serves io.atcr.hold.notifyManifestDeleted: the
// caller deleted one of their io.atcr.manifest records, and the hold
// deletes that manifest's io.atcr.hold.layer records, so the user's quota
// no longer counts its blobs and garbage collection may reclaim the ones
// no other layer record references.
//
// The caller must own the manifest (the URI's authority is the caller's
// DID; no crew permission is needed, so a former member may still free
// what they left) or be crew who may push (cleaning up after someone
// else's deletion frees nothing for the caller). Anyone else is 403. The
// records are deleted only once the owner's PDS confirms the manifest
// record is gone (ownerpds.go): nobody can free quota for an image that is
// still served. A manifest with no layer records here answers 0 without
// asking the PDS (one indexed lookup), which makes a repeated
// notification cheap and idempotent.
func (h *Handlers) NotifyManifestDeleted(w http.ResponseWriter, r *http.Request) {
	out, err := h.notifyManifestDeleted(w, r)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	h.writeOK(w, out)
}

func (h *Handlers) notifyManifestDeleted(w http.ResponseWriter, r *http.Request) (*atcr.HoldNotifyManifestDeleted_Output, error) {
	ctx := r.Context()
	caller, ok := serviceauth.CallerDID(ctx)
	if !ok {
		return nil, xrpc.AuthRequired("a service token is required")
	}
	var in atcr.HoldNotifyManifestDeleted_Input
	if err := decodeInput(w, r, atcr.HoldNotifyManifestDeletedNSID, &in); err != nil {
		return nil, err
	}
	manifestURI, err := parseManifestURI(in.ManifestURI)
	if err != nil {
		return nil, err
	}
	if owner, _ := manifestURI.Authority().AsDID(); owner != caller {
		if h.auth.CanWrite(ctx, caller) != nil {
			return nil, xrpc.Forbidden("only the manifest's owner or crew may report its deletion")
		}
	}
	// Counting is local and cheap next to a PDS round trip; most repeated
	// or stray notifications end here.
	keys, err := h.layers.ManifestRecordKeys(ctx, manifestURI)
	if err != nil {
		return nil, err
	}
	scanned := h.scanKnows(ctx, manifestURI) // an index has scans but no layer records
	if len(keys) == 0 && !scanned {
		return &atcr.HoldNotifyManifestDeleted_Output{}, nil
	}
	if err := h.confirmManifestGone(ctx, manifestURI); err != nil {
		return nil, err
	}
	deleted := 0
	if len(keys) > 0 {
		if deleted, err = h.DeleteManifestLayers(ctx, manifestURI); err != nil {
			return nil, err
		}
	}
	if scanned {
		h.forgetScan(ctx, manifestURI)
	}
	h.log.Info("manifest deleted", "manifest", manifestURI, "layersDeleted", deleted)
	return &atcr.HoldNotifyManifestDeleted_Output{LayersDeleted: int64(deleted)}, nil
}
