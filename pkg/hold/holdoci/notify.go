package holdoci

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// statConcurrency bounds the S3 HEAD requests one notification runs at once.
const statConcurrency = 8

// blobRef is one blob a manifest references, with the size S3 reports.
type blobRef struct {
	digest    oci.Digest
	mediaType string
	size      int64
}

// NotifyManifest serves io.atcr.hold.notifyManifest: the caller stored a
// manifest record in their PDS, and the hold records its config and layer
// blobs as io.atcr.hold.layer records (the basis of quota), after checking
// that every blob is stored here and that the user's quota allows the bytes
// they did not already have. Repeating a notification writes nothing new.
func (h *Handlers) NotifyManifest(w http.ResponseWriter, r *http.Request) {
	out, err := h.notifyManifest(w, r)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	h.writeOK(w, out)
}

func (h *Handlers) notifyManifest(w http.ResponseWriter, r *http.Request) (*atcr.HoldNotifyManifest_Output, error) {
	ctx := r.Context()
	caller, ok := serviceauth.CallerDID(ctx)
	if !ok {
		return nil, xrpc.AuthRequired("a service token is required")
	}
	var in atcr.HoldNotifyManifest_Input
	if err := decodeInput(w, r, atcr.HoldNotifyManifestNSID, &in); err != nil {
		return nil, err
	}
	manifestURI, err := callerManifestURI(in.ManifestURI, caller)
	if err != nil {
		return nil, err
	}
	if err := h.auth.CanWrite(ctx, caller); err != nil {
		return nil, err
	}
	manifestDigest, err := oci.ParseDigest(in.ManifestDigest)
	if err != nil {
		return nil, errInvalidDigest("manifestDigest: %s", err.Error())
	}
	blobs, err := manifestBlobs(in)
	if err != nil {
		return nil, err
	}
	if err := h.statBlobs(ctx, blobs); err != nil {
		return nil, err
	}

	// One update of a user's layer records at a time: the duplicate and
	// quota checks below must see the records the previous one wrote.
	unlock := h.userLocks.Lock(caller.String())
	defer unlock()
	recorded, owned, err := h.layerIndex(ctx, caller, manifestURI, blobs)
	if err != nil {
		return nil, err
	}
	var fresh []blobRef
	var addBytes int64
	for _, b := range blobs {
		if recorded[b.digest.String()] {
			continue
		}
		fresh = append(fresh, b)
		if !owned[b.digest.String()] {
			addBytes += b.size
		}
	}
	out := &atcr.HoldNotifyManifest_Output{}
	if h.quota != nil {
		used, limit, err := h.quota.CheckQuota(ctx, caller, addBytes)
		if err != nil {
			return nil, err
		}
		out.QuotaUsed = &used
		if limit >= 0 {
			out.QuotaLimit = &limit
		}
	}
	handle := h.handleOf(ctx, caller)
	written, err := h.writeLayerRecords(ctx, layerContext{
		user: caller, handle: handle, manifest: manifestURI, repository: in.Repository,
	}, fresh)
	out.LayersRecorded = int64(written)
	if err != nil {
		// Batches already committed stay: a retry skips them.
		return nil, err
	}
	h.log.Info("manifest recorded", "manifest", manifestURI, "layers", written, "addBytes", addBytes)
	// Announce new pushes only, not repeated notifications; an index has no
	// blobs of its own, so it is announced whenever it is notified.
	if h.postsEnabled(ctx) && (written > 0 || len(blobs) == 0) {
		uri, err := h.announcePush(ctx, handle, caller, in.Repository, in.Tag, manifestDigest)
		if err != nil {
			h.log.Warn("bluesky post failed", "manifest", manifestURI, "err", err)
		} else {
			out.PostURI = uri.String()
		}
	}
	return out, nil
}

// callerManifestURI parses the manifest's AT-URI and checks that it names an
// io.atcr.manifest record in the caller's own repository: quota is charged
// to the caller, so nobody may record another user's manifest.
func callerManifestURI(raw string, caller syntax.DID) (syntax.ATURI, error) {
	uri, err := syntax.ParseATURI(raw)
	if err != nil {
		return "", xrpc.InvalidRequest("manifestUri: " + err.Error())
	}
	did, err := uri.Authority().AsDID()
	if err != nil || did != caller {
		return "", xrpc.Forbidden("manifestUri must name a record in the caller's own repository")
	}
	if uri.Collection() != syntax.NSID(atcr.ManifestNSID) || uri.RecordKey() == "" {
		return "", xrpc.InvalidRequest("manifestUri must name an " + atcr.ManifestNSID + " record")
	}
	return uri, nil
}

// manifestBlobs lists the config (first) and layers once each, with
// validated digests. The subject is a manifest in the user's PDS, not a blob
// on this hold, so it is not recorded.
func manifestBlobs(in atcr.HoldNotifyManifest_Input) ([]blobRef, error) {
	descs := in.Layers
	if in.Config != nil {
		descs = append([]atcr.HoldNotifyManifest_Descriptor{*in.Config}, in.Layers...)
	}
	seen := make(map[string]bool, len(descs))
	out := make([]blobRef, 0, len(descs))
	for _, d := range descs {
		digest, err := oci.ParseDigest(d.Digest)
		if err != nil {
			return nil, errInvalidDigest("%s", err.Error())
		}
		if seen[digest.String()] {
			continue
		}
		seen[digest.String()] = true
		out = append(out, blobRef{digest: digest, mediaType: d.MediaType})
	}
	return out, nil
}

// statBlobs fills in each blob's size from S3; the sizes the caller sent are
// not trusted. A blob that is not stored is 400 BlobNotFound.
func (h *Handlers) statBlobs(ctx context.Context, blobs []blobRef) error {
	errs := make([]error, len(blobs))
	sem := make(chan struct{}, statConcurrency)
	var wg sync.WaitGroup
	for i := range blobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			info, err := h.s3.Stat(ctx, s3.BlobKey(blobs[i].digest))
			blobs[i].size, errs[i] = info.Size, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case errors.Is(err, s3.ErrNotFound):
			return errBlobNotFound(http.StatusBadRequest, blobs[i].digest.String())
		case err != nil:
			h.log.Error("stat blob", "digest", blobs[i].digest, "err", err)
			return errStorage("look up the manifest's blobs")
		}
	}
	return nil
}
