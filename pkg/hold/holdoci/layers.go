package holdoci

import (
	"context"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/hold/pds"
)

// layerCollection is the io.atcr.hold.layer collection in the hold's repo.
const layerCollection = syntax.NSID(atcr.HoldLayerNSID)

// listPage is the page size of record listings (the PDS's maximum).
const listPage = 100

// walkLayers calls fn for every io.atcr.hold.layer record, oldest first.
// The hold's repository has no secondary index, so this reads the whole
// collection: one pass per notification or deletion.
func (h *Handlers) walkLayers(ctx context.Context, fn func(pds.Record)) error {
	cursor := ""
	for {
		recs, next, err := h.pds.ListRecords(ctx, layerCollection, listPage, cursor, true)
		if err != nil {
			return fmt.Errorf("list layer records: %w", err)
		}
		for _, rec := range recs {
			fn(rec)
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// stringField reads a string field of a record value ("" when absent).
func stringField(rec pds.Record, name string) string {
	s, _ := rec.Value[name].(string)
	return s
}

// layerIndex returns the digests already recorded for the manifest, and the
// digests the user has records for under any manifest (what quota counts).
func (h *Handlers) layerIndex(ctx context.Context, user syntax.DID, manifest syntax.ATURI) (recorded, owned map[string]bool, err error) {
	recorded, owned = map[string]bool{}, map[string]bool{}
	err = h.walkLayers(ctx, func(rec pds.Record) {
		if stringField(rec, "userDid") != user.String() {
			return
		}
		digest := stringField(rec, "digest")
		owned[digest] = true
		if stringField(rec, "manifest") == manifest.String() {
			recorded[digest] = true
		}
	})
	return recorded, owned, err
}

// layerContext is what every layer record of one notification shares.
type layerContext struct {
	user       syntax.DID
	handle     string // "" when unknown
	manifest   syntax.ATURI
	repository string
}

// writeLayerRecords creates one validated io.atcr.hold.layer record per
// blob, in commits of at most pds.MaxCommitOps. It returns how many were
// written, which is less than len(blobs) only alongside an error.
func (h *Handlers) writeLayerRecords(ctx context.Context, lc layerContext, blobs []blobRef) (int, error) {
	createdAt := formatDatetime(h.now())
	writes := make([]pds.Write, 0, len(blobs))
	for _, b := range blobs {
		rec, err := atcr.ToMap(&atcr.HoldLayer{
			Digest: b.digest.String(), Size: b.size, MediaType: b.mediaType,
			Manifest: lc.manifest.String(), Repository: lc.repository,
			UserDID: lc.user.String(), UserHandle: lc.handle, CreatedAt: createdAt,
		})
		if err != nil {
			return 0, fmt.Errorf("layer record for %s: %w", b.digest, err)
		}
		if err := schema.ValidateRecord(atcr.HoldLayerNSID, rec); err != nil {
			return 0, fmt.Errorf("layer record for %s: %w", b.digest, err)
		}
		writes = append(writes, pds.Write{Op: pds.Create, Collection: layerCollection, Record: rec})
	}
	written := 0
	for start := 0; start < len(writes); start += pds.MaxCommitOps {
		batch := writes[start:min(start+pds.MaxCommitOps, len(writes))]
		if _, err := h.pds.ApplyWrites(ctx, batch); err != nil {
			return written, fmt.Errorf("write layer records: %w", err)
		}
		written += len(batch)
	}
	return written, nil
}

// manifestLayerCount returns how many io.atcr.hold.layer records name the
// manifest.
func (h *Handlers) manifestLayerCount(ctx context.Context, manifestURI syntax.ATURI) (int, error) {
	n := 0
	err := h.walkLayers(ctx, func(rec pds.Record) {
		if stringField(rec, "manifest") == manifestURI.String() {
			n++
		}
	})
	return n, err
}

// DeleteManifestLayers deletes every io.atcr.hold.layer record of the
// manifest, in commits of at most pds.MaxCommitOps, freeing the quota its
// blobs took (for blobs no other manifest of the user references) and
// leaving blobs no other record references to garbage collection. It
// returns how many records it deleted; after an error the batches already
// committed stay deleted, and calling it again deletes the rest.
// notifyManifestDeleted calls it once the owner's PDS no longer has the
// manifest record.
func (h *Handlers) DeleteManifestLayers(ctx context.Context, manifestURI syntax.ATURI) (int, error) {
	user, err := manifestURI.Authority().AsDID()
	if err != nil {
		return 0, fmt.Errorf("manifest %s: %w", manifestURI, err)
	}
	unlock := h.userLocks.Lock(user.String())
	defer unlock()
	var deletes []pds.Write
	err = h.walkLayers(ctx, func(rec pds.Record) {
		if stringField(rec, "manifest") == manifestURI.String() {
			deletes = append(deletes, pds.Write{Op: pds.Delete, Collection: layerCollection, RKey: rec.RKey})
		}
	})
	if err != nil {
		return 0, err
	}
	deleted := 0
	for start := 0; start < len(deletes); start += pds.MaxCommitOps {
		batch := deletes[start:min(start+pds.MaxCommitOps, len(deletes))]
		if _, err := h.pds.ApplyWrites(ctx, batch); err != nil {
			return deleted, fmt.Errorf("delete layer records of %s: %w", manifestURI, err)
		}
		deleted += len(batch)
	}
	return deleted, nil
}
