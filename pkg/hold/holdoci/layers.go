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

// LayerIndex answers questions about the hold's io.atcr.hold.layer records
// without reading the collection; *layerindex.Index implements it from the
// repository's SQLite index, kept current by every commit.
type LayerIndex interface {
	// ManifestDigests returns the digests recorded for the manifest.
	ManifestDigests(ctx context.Context, manifest syntax.ATURI) (map[string]bool, error)
	// ManifestRecordKeys returns the keys of the manifest's layer records.
	ManifestRecordKeys(ctx context.Context, manifest syntax.ATURI) ([]syntax.RecordKey, error)
	// UserOwns returns which of digests the user has layer records for.
	UserOwns(ctx context.Context, user syntax.DID, digests []string) (map[string]bool, error)
}

// layerIndex returns which of the blobs are already recorded for the
// manifest, and which the user has records for under any manifest (what
// quota counts already).
func (h *Handlers) layerIndex(ctx context.Context, user syntax.DID, manifest syntax.ATURI, blobs []blobRef) (recorded, owned map[string]bool, err error) {
	recorded, err = h.layers.ManifestDigests(ctx, manifest)
	if err != nil {
		return nil, nil, err
	}
	digests := make([]string, len(blobs))
	for i, b := range blobs {
		digests[i] = b.digest.String()
	}
	owned, err = h.layers.UserOwns(ctx, user, digests)
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
	keys, err := h.layers.ManifestRecordKeys(ctx, manifestURI)
	if err != nil {
		return 0, err
	}
	deletes := make([]pds.Write, len(keys))
	for i, k := range keys {
		deletes[i] = pds.Write{Op: pds.Delete, Collection: layerCollection, RKey: k}
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
