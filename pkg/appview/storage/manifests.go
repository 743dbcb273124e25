package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// manifestKey names cached manifest bytes: content by digest never changes.
type manifestKey struct {
	did    syntax.DID
	digest oci.Digest
}

type cachedManifest struct {
	body      []byte
	mediaType string
}

// GetManifest implements registry.ManifestService. A tag resolves through
// its record (or the tag cache) to a digest; a digest must belong to a
// manifest record of this repository; the bytes come from the cache or the
// record's manifestBlob on the owner's PDS.
func (s *Store) GetManifest(ctx context.Context, repo registry.Repo, ref oci.Reference) (*registry.Manifest, error) {
	var d oci.Digest
	var rec *pdsread.ManifestRecord
	if ref.IsDigest() {
		d = ref.Digest()
		recs, err := s.manifestsByDigest(ctx, repo, d)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			return nil, fmt.Errorf("manifest %s in %s: %w", d, repo.Name, registry.ErrManifestUnknown)
		}
		rec = recs[0]
	} else {
		var err error
		if d, rec, err = s.tagDigest(ctx, repo, ref.Tag()); err != nil {
			return nil, err
		}
	}
	if cm, ok := s.manifests.Get(manifestKey{did: repo.Owner.DID, digest: d}); ok {
		return &registry.Manifest{Body: cm.body, MediaType: cm.mediaType, Digest: d}, nil
	}
	if rec == nil { // tag answered from the cache, bytes were not cached
		recs, err := s.manifestsByDigest(ctx, repo, d)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			return nil, fmt.Errorf("manifest %s of tag %s: %w", d, ref, registry.ErrManifestUnknown)
		}
		rec = recs[0]
	}
	body, err := s.fetchManifest(ctx, repo.Owner, rec)
	if err != nil {
		return nil, err
	}
	return &registry.Manifest{Body: body, MediaType: rec.Value.MediaType, Digest: d}, nil
}

// fetchManifest reads a record's manifestBlob and checks it against the
// record's digest before caching it.
func (s *Store) fetchManifest(ctx context.Context, owner registry.Owner, rec *pdsread.ManifestRecord) ([]byte, error) {
	body, err := s.pds.ManifestBytes(ctx, account(owner), rec)
	if errors.Is(err, pdsread.ErrRecordNotFound) {
		// Missing, or not the manifest the record names (pdsread.ErrUnusable).
		return nil, fmt.Errorf("manifest %s: bytes missing from the PDS or unusable (%v): %w", rec.URI, err, registry.ErrManifestUnknown)
	}
	if err != nil {
		return nil, pdsErr(err)
	}
	s.manifests.Add(manifestKey{did: owner.DID, digest: rec.Digest}, cachedManifest{body: body, mediaType: rec.Value.MediaType})
	return body, nil
}

// DeleteManifest implements registry.ManifestService. A tag deletes its
// record only. A digest lists the repository afresh (so no tag written
// elsewhere survives), deletes every tag pointing at the manifest, then
// every record of the manifest, telling each record's hold once its record
// is gone (notifyHoldDeleted).
func (s *Store) DeleteManifest(ctx context.Context, repo registry.Repo, ref oci.Reference) error {
	if !ref.IsDigest() {
		return s.deleteTag(ctx, repo, ref.Tag())
	}
	idx, err := s.refreshIndex(ctx, repo.Owner, 0)
	if err != nil {
		return err
	}
	recs := idx.byDigest(repo.Path(), ref.Digest())
	beyond := beyondKey{did: repo.Owner.DID, repo: repo.Path(), digest: ref.Digest()}
	if len(recs) == 0 && idx.truncated && s.opts.IndexHints != nil {
		s.beyond.Remove(beyond) // read afresh: it is about to be deleted
		if recs, err = s.manifestsBeyondIndex(ctx, repo, ref.Digest()); err != nil {
			return err
		}
	}
	if len(recs) == 0 {
		return fmt.Errorf("delete %s in %s: %w", ref, repo.Name, registry.ErrManifestUnknown)
	}
	defer s.beyond.Remove(beyond)
	client, err := s.userClient(ctx, repo.Owner.DID)
	if err != nil {
		return err
	}
	for _, t := range idx.tagsPointingAt(repo.Path(), recs) {
		if err := s.deleteTagIfStill(ctx, client, repo, idx, t, recs); err != nil {
			return err
		}
	}
	for _, rec := range recs {
		if err := deleteRecord(ctx, client, repo.Owner.DID, atcr.ManifestNSID, rec.RKey); err != nil {
			return err
		}
		idx.removeManifest(rec.RKey)
		s.indexChanged(ctx, repo.Owner.DID, indexChange{DropManifest: rec.RKey})
		s.unindexRecord(ctx, repo.Owner.DID, atcr.ManifestNSID, rec.RKey)
		s.notifyHoldDeleted(ctx, repo.Owner.DID, rec)
	}
	s.dropDanglingTags(ctx, client, repo, recs)
	return nil
}

// tagDeleted forgets a tag record deleted from the PDS: in idx, the other
// AppViews' indexes, the UI index and the tag cache.
func (s *Store) tagDeleted(ctx context.Context, repo registry.Repo, idx *repoIndex, t *pdsread.TagRecord) {
	idx.removeTag(t.RKey)
	s.indexChanged(ctx, repo.Owner.DID, indexChange{DropTag: t.RKey})
	s.unindexRecord(ctx, repo.Owner.DID, atcr.TagNSID, t.RKey)
	s.tagCache.Remove(tagKey{did: repo.Owner.DID, repo: repo.Path(), tag: t.Value.Tag})
}

// dropDanglingTags deletes the tags a push wrote to the deleted records
// while they were being deleted. A push that reuses a manifest's record
// (putReused) checks it still exists only after writing its tags; a
// DELETE lists the tags afresh only after deleting the records: whichever
// order the two take, one of them sees the other, so no tag is left
// pointing at a deleted record (the push then records the manifest anew).
// The DELETE has succeeded already: a failure here is logged.
func (s *Store) dropDanglingTags(ctx context.Context, client *atclient.APIClient, repo registry.Repo, deleted []*pdsread.ManifestRecord) {
	idx, err := s.refreshIndex(ctx, repo.Owner, 0)
	if err != nil {
		s.log.WarnContext(ctx, "storage: list tags after a manifest delete", "repo", repo.Name, "err", err)
		return
	}
	for _, t := range idx.tagsPointingAt(repo.Path(), deleted) {
		if err := s.deleteTagIfStill(ctx, client, repo, idx, t, deleted); err != nil {
			s.log.WarnContext(ctx, "storage: delete a tag written during a manifest delete", "repo", repo.Name, "tag", t.Value.Tag, "err", err)
		}
	}
}

// deleteTagIfStill deletes the tag record t while it still points at one
// of recs: it is read first and deleted only at the version read
// (swapRecord), so a tag a concurrent push moved to another manifest
// meanwhile stays — a DELETE of the old manifest once took such a move
// with it (found by the re-check of the integrity probe). A tag gone or
// moved is no error.
func (s *Store) deleteTagIfStill(ctx context.Context, client *atclient.APIClient, repo registry.Repo, idx *repoIndex, t *pdsread.TagRecord, recs []*pdsread.ManifestRecord) error {
	view, err := s.getRecord(ctx, repo.Owner, atcr.TagNSID, t.RKey)
	if errors.Is(err, pdsread.ErrRecordNotFound) {
		s.tagDeleted(ctx, repo, idx, t)
		return nil
	}
	if err != nil {
		return err
	}
	now, err := pdsread.DecodeTag(account(repo.Owner), *view)
	if err == nil && !tagPointsAt(now, recs) {
		return nil // moved meanwhile: the mover's write stands
	}
	err = deleteRecordSwap(ctx, client, repo.Owner.DID, atcr.TagNSID, t.RKey, view.CID)
	if isInvalidSwap(err) {
		return nil // written again since the read: not ours to delete
	}
	if err != nil {
		return err
	}
	s.tagDeleted(ctx, repo, idx, t)
	return nil
}

func (s *Store) deleteTag(ctx context.Context, repo registry.Repo, tag oci.Tag) error {
	rkey := pdsread.TagRecordKey(repo.Path(), tag)
	_, err := s.getRecord(ctx, repo.Owner, atcr.TagNSID, rkey)
	if errors.Is(err, pdsread.ErrRecordNotFound) {
		return fmt.Errorf("delete tag %s in %s: %w", tag, repo.Name, registry.ErrManifestUnknown)
	}
	if err != nil {
		return err
	}
	client, err := s.userClient(ctx, repo.Owner.DID)
	if err != nil {
		return err
	}
	if err := deleteRecord(ctx, client, repo.Owner.DID, atcr.TagNSID, rkey); err != nil {
		return err
	}
	s.unindexRecord(ctx, repo.Owner.DID, atcr.TagNSID, rkey)
	if idx := s.loadedIndex(repo.Owner.DID); idx != nil {
		idx.removeTag(rkey)
	}
	s.indexChanged(ctx, repo.Owner.DID, indexChange{DropTag: rkey})
	s.tagCache.Remove(tagKey{did: repo.Owner.DID, repo: repo.Path(), tag: tag.String()})
	return nil
}
