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
// blobs as io.atcr.hold.layer records (the basis of quota and the roots of
// garbage collection). The hold believes the owner's PDS, not the caller:
// it reads the record at manifestUri (manifestrecord.go) and takes the
// blobs and repository from it; a record that does not exist, describes
// another manifest or names another hold is refused. Every blob must be
// stored here and the user's quota must allow the bytes they did not
// already have. Repeating a notification writes nothing new.
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
	// The blobs the caller announced are looked up in S3 while the owner's
	// PDS is asked for the record; only the record decides which blobs
	// count (recordLayers looks up any the caller did not announce).
	stats := h.prestat(ctx, announcedBlobs(&in))
	rec, err := h.manifestRecord(ctx, manifestURI, manifestDigest)
	if err != nil {
		stats.wait()
		return nil, err
	}
	blobs, err := recordBlobs(rec)
	if err != nil {
		stats.wait()
		return nil, err
	}
	handle := h.handleOf(ctx, caller)

	out, fresh, err := h.recordLayers(ctx, layerContext{
		user: caller, handle: handle, manifest: manifestURI, repository: rec.Repository,
	}, blobs, stats.wait())
	if err != nil {
		return out, err
	}
	// Announce a manifest the first time it is recorded; an index has no
	// blobs of its own, so its first notification counts as that.
	if fresh > 0 || len(blobs) == 0 {
		out.PostURI = h.announce(ctx, announcement{
			user: caller, handle: handle, manifest: manifestURI,
			repository: rec.Repository, tag: in.Tag, digest: manifestDigest,
		})
	}
	h.queueScan(ctx, manifestURI, rec)
	return out, nil
}

// recordLayers checks that every blob is stored and that the user's quota
// allows the bytes new to them, then writes the layer records the manifest
// does not have yet. It returns the output (usage, records written) and
// how many records it wrote.
//
// It runs under the blob lock's shared side (gcguard.go): garbage
// collection cannot delete a blob between the stat that finds it and the
// commit of the record that references it.
func (h *Handlers) recordLayers(ctx context.Context, lc layerContext, blobs []blobRef, pre prestats) (*atcr.HoldNotifyManifest_Output, int, error) {
	release := h.guard.share()
	defer release()
	if err := h.statBlobs(ctx, blobs, pre); err != nil {
		return nil, 0, err
	}
	if h.afterStat != nil {
		h.afterStat()
	}
	// One update of a user's layer records at a time: the duplicate and
	// quota checks below must see the records the previous one wrote.
	unlock := h.userLocks.Lock(lc.user.String())
	defer unlock()
	recorded, owned, err := h.layerIndex(ctx, lc.user, lc.manifest, blobs)
	if err != nil {
		return nil, 0, err
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
		used, limit, err := h.quota.CheckQuota(ctx, lc.user, addBytes)
		if err != nil {
			return nil, 0, err
		}
		out.QuotaUsed = &used
		if limit >= 0 {
			out.QuotaLimit = &limit
		}
	}
	written, err := h.writeLayerRecords(ctx, lc, fresh)
	out.LayersRecorded = int64(written)
	if err != nil {
		// Batches already committed stay: a retry skips them.
		return nil, written, err
	}
	h.forgetPending(ctx, lc.user, fresh)
	h.log.Info("manifest recorded", "manifest", lc.manifest, "layers", written, "addBytes", addBytes)
	return out, written, nil
}

// callerManifestURI parses the manifest's AT-URI and checks that it names an
// io.atcr.manifest record in the caller's own repository: quota is charged
// to the caller, so nobody may record another user's manifest.
func callerManifestURI(raw string, caller syntax.DID) (syntax.ATURI, error) {
	uri, err := syntax.ParseATURI(raw)
	if err != nil {
		return "", xrpc.InvalidRequest("manifestUri: " + err.Error())
	}
	if did, err := uri.Authority().AsDID(); err != nil || did != caller {
		return "", xrpc.Forbidden("manifestUri must name a record in the caller's own repository")
	}
	return parseManifestURI(raw)
}

// parseManifestURI parses an AT-URI that must name an io.atcr.manifest
// record of a DID.
func parseManifestURI(raw string) (syntax.ATURI, error) {
	uri, err := syntax.ParseATURI(raw)
	if err != nil {
		return "", xrpc.InvalidRequest("manifestUri: " + err.Error())
	}
	if _, err := uri.Authority().AsDID(); err != nil {
		return "", xrpc.InvalidRequest("manifestUri must name a DID's repository")
	}
	if uri.Collection() != syntax.NSID(atcr.ManifestNSID) || uri.RecordKey() == "" {
		return "", xrpc.InvalidRequest("manifestUri must name an " + atcr.ManifestNSID + " record")
	}
	return uri, nil
}

// maxManifestBlobs bounds the blobs one manifest record may name (the
// notifyManifest lexicon's 4,096 layers plus the config).
const maxManifestBlobs = 4097

// recordBlobs lists the record's config (first) and layers once each, with
// validated digests. Non-distributable ("foreign") layers live elsewhere
// and are skipped, as the AppView skips them when it checks a push. The
// subject is a manifest in the user's PDS, not a blob on this hold.
func recordBlobs(rec *atcr.Manifest) ([]blobRef, error) {
	descs := rec.Layers
	if rec.Config != nil {
		descs = append([]atcr.Manifest_BlobReference{*rec.Config}, rec.Layers...)
	}
	if len(descs) > maxManifestBlobs {
		return nil, errManifestNotFound("the manifest record names %d blobs, more than %d", len(descs), maxManifestBlobs)
	}
	seen := make(map[string]bool, len(descs))
	out := make([]blobRef, 0, len(descs))
	for _, d := range descs {
		if oci.IsNondistributable(d.MediaType) {
			continue
		}
		digest, err := oci.ParseDigest(d.Digest)
		if err != nil {
			return nil, errInvalidDigest("the manifest record: %s", err.Error())
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
// not trusted. A blob that is not stored is 400 BlobNotFound. The caller
// holds the blob guard's shared side; sizes pre found are used when the
// guard's exclusive side has not been taken since (nothing was deleted).
func (h *Handlers) statBlobs(ctx context.Context, blobs []blobRef, pre prestats) error {
	current := pre.sizes != nil && pre.exclusions == h.guard.exclusions.Load()
	var todo []int // the blobs pre does not answer for
	for i := range blobs {
		if size, ok := pre.sizes[blobs[i].digest.String()]; ok && current {
			blobs[i].size = size
			continue
		}
		todo = append(todo, i)
	}
	errs := h.statEach(ctx, blobs, todo)
	for n, err := range errs {
		i := todo[n]
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

// statEach fills in the size of blobs[i] from S3 for each i in which,
// statConcurrency at a time, and returns each lookup's error, in which's
// order.
func (h *Handlers) statEach(ctx context.Context, blobs []blobRef, which []int) []error {
	errs := make([]error, len(which))
	sem := make(chan struct{}, statConcurrency)
	var wg sync.WaitGroup
	for n, i := range which {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			sctx, cancel := storageCtx(ctx)
			defer cancel()
			info, err := h.s3.Stat(sctx, s3.BlobKey(blobs[i].digest))
			blobs[i].size, errs[n] = info.Size, err
		})
	}
	wg.Wait()
	return errs
}

// maxPrestat bounds the announced blobs notifyManifest looks up before the
// record is read: a typical image's, not a hostile caller's 4,096.
const maxPrestat = 64

// prestats are the sizes of stored blobs looked up under one hold of the
// blob guard's shared side, and the guard's exclusions count then.
type prestats struct {
	exclusions uint64
	sizes      map[string]int64 // by digest; blobs not found are absent
}

// pendingStats is a prestat running.
type pendingStats struct {
	done chan struct{}
	res  prestats
}

// wait returns the prestat's result.
func (p *pendingStats) wait() prestats {
	<-p.done
	return p.res
}

// prestat looks up blobs in S3 in the background (statConcurrency at a
// time), under the blob guard's shared side, released when it is done: the
// read of the record it overlaps may take a while, and the collector must
// not wait for it.
func (h *Handlers) prestat(ctx context.Context, blobs []blobRef) *pendingStats {
	p := &pendingStats{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if len(blobs) == 0 {
			return
		}
		release := h.guard.share()
		defer release()
		all := make([]int, len(blobs))
		for i := range all {
			all[i] = i
		}
		sizes := make(map[string]int64, len(blobs))
		for i, err := range h.statEach(ctx, blobs, all) {
			if err == nil {
				sizes[blobs[i].digest.String()] = blobs[i].size
			}
		}
		p.res = prestats{exclusions: h.guard.exclusions.Load(), sizes: sizes}
	}()
	return p
}

// announcedBlobs lists the config and layers the caller announced, valid
// and distributable ones once each, at most maxPrestat: what prestat looks
// up. Nothing else is taken from them.
func announcedBlobs(in *atcr.HoldNotifyManifest_Input) []blobRef {
	descs := in.Layers
	if in.Config != nil {
		descs = append([]atcr.HoldNotifyManifest_Descriptor{*in.Config}, in.Layers...)
	}
	seen := make(map[string]bool, len(descs))
	var out []blobRef
	for _, d := range descs {
		if len(out) == maxPrestat {
			break
		}
		digest, err := oci.ParseDigest(d.Digest)
		if err != nil || oci.IsNondistributable(d.MediaType) || seen[digest.String()] {
			continue
		}
		seen[digest.String()] = true
		out = append(out, blobRef{digest: digest, mediaType: d.MediaType})
	}
	return out
}
