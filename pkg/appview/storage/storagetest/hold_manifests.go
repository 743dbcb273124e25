package storagetest

import (
	"encoding/json"
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

// notify records the manifest's blobs as the real hold does: it believes
// the manifest record in the owner's PDS, not the caller (no record, another
// digest or another hold is ManifestNotFound); every blob the record names
// (config and distributable layers) must be stored; each gets one layer
// record per manifest, and a repeated notification records nothing new.
// Quota is the real hold's (pkg/hold/holdoci).
func (h *Hold) notify(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldNotifyManifest_Input
	if !h.decode(w, r, &in) {
		return
	}
	if !h.isCrew(caller) {
		xrpc.WriteError(w, xrpc.Forbidden("only the hold's crew may push"))
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
	rec, ok := h.manifestRecord(in.ManifestURI)
	if !ok || rec.Digest != in.ManifestDigest || (rec.HoldDID != "" && rec.HoldDID != h.DID.String()) {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorManifestNotFound,
			"the owner's PDS has no manifest record "+in.ManifestURI+" of this digest for this hold"))
		return
	}
	var blobs []atcr.Manifest_BlobReference
	if rec.Config != nil {
		blobs = append(blobs, *rec.Config)
	}
	for _, l := range rec.Layers {
		if !oci.IsNondistributable(l.MediaType) {
			blobs = append(blobs, l)
		}
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
	if !h.mayDeleteFor(caller, in.ManifestURI) {
		xrpc.WriteError(w, xrpc.Forbidden("only the manifest's owner or the hold's crew may do this"))
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

// manifestRecord reads the io.atcr.manifest record at uri: one published
// with PublishManifest, else from the PDS ReadRecordsFrom names.
func (h *Hold) manifestRecord(uri string) (*atcr.Manifest, bool) {
	at, err := syntax.ParseATURI(uri)
	if err != nil || at.Collection() != atcr.ManifestNSID {
		return nil, false
	}
	did, err := at.Authority().AsDID()
	if err != nil {
		return nil, false
	}
	h.mu.Lock()
	rec, ok := h.published[uri]
	read := h.readRecord
	h.mu.Unlock()
	if ok {
		return &rec, true
	}
	if read == nil {
		return nil, false
	}
	value, ok := read(did, atcr.ManifestNSID, at.RecordKey().String())
	if !ok {
		return nil, false
	}
	raw, err := json.Marshal(value)
	if err != nil || json.Unmarshal(raw, &rec) != nil {
		return nil, false
	}
	return &rec, true
}

// mayDeleteFor: notifyManifestDeleted needs the manifest's owner or crew.
func (h *Hold) mayDeleteFor(caller syntax.DID, uri string) bool {
	if at, err := syntax.ParseATURI(uri); err == nil && at.Authority().String() == caller.String() {
		return true
	}
	return h.isCrew(caller)
}
