package storage

import (
	"context"
	"encoding/json"
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
		return nil, fmt.Errorf("manifest %s: bytes missing from the PDS: %w", rec.URI, registry.ErrManifestUnknown)
	}
	if err != nil {
		return nil, pdsErr(err)
	}
	s.manifests.Add(manifestKey{did: owner.DID, digest: rec.Digest}, cachedManifest{body: body, mediaType: rec.Value.MediaType})
	return body, nil
}

// PutManifest implements registry.ManifestService. Everything it
// references must exist first (blobs on the owner's push hold, index
// children as manifests of this repository). Then, in this order, so a
// failure never leaves a tag pointing at nothing: uploadBlob (the exact
// bytes), createRecord io.atcr.manifest, io.atcr.hold.notifyManifest
// (retried while the hold is unreachable; a refusal withdraws the record
// and fails the push), putRecord io.atcr.tag (for each tag). A manifest
// already recorded in this repository with the same hold is reused rather
// than recorded twice.
func (s *Store) PutManifest(ctx context.Context, repo registry.Repo, put registry.ManifestPut) error {
	holdDID, err := s.pushHold(ctx, repo.Owner)
	if err != nil {
		return err
	}
	h, err := s.hold.Hold(ctx, holdDID, repo.Owner.DID)
	if err != nil {
		return err
	}
	if err := s.checkReferences(ctx, repo, h, put.Manifest); err != nil {
		return err
	}
	client, err := s.userClient(ctx, repo.Owner.DID)
	if err != nil {
		return err
	}
	rec, err := s.reusableManifest(ctx, repo, put, holdDID)
	if err != nil {
		return err
	}
	created := rec == nil
	if created {
		if rec, err = s.createManifest(ctx, client, repo, put, holdDID); err != nil {
			return err
		}
	}
	// The hold accounts for the layers (quota, garbage collection) before
	// any tag names the image: a push the hold refuses leaves no image.
	if err := s.notifyHold(ctx, h, repo, put, rec); err != nil {
		if created {
			s.withdrawManifest(ctx, client, repo, rec)
		}
		return s.notifyRefusal(ctx, repo, h, put, err)
	}
	for _, tag := range put.Tags {
		if err := s.writeTag(ctx, client, repo, tag, rec); err != nil {
			return err
		}
	}
	s.manifests.Add(manifestKey{did: repo.Owner.DID, digest: put.Digest}, cachedManifest{body: put.Body, mediaType: put.Manifest.MediaType()})
	s.pushed(repo.Owner.DID)
	if s.indexer != nil {
		s.indexer.CountPush(repo.Owner.DID.String(), repo.Path())
	}
	return nil
}

// withdrawManifest deletes a manifest record this push created when the
// hold refused it, so no record claims an image whose layers nobody
// accounts for. It runs whatever the client does meanwhile; a failure is
// logged (the record stays, untagged).
func (s *Store) withdrawManifest(ctx context.Context, client *atclient.APIClient, repo registry.Repo, rec *pdsread.ManifestRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.NotifyTimeout)
	defer cancel()
	if err := deleteRecord(ctx, client, repo.Owner.DID, atcr.ManifestNSID, rec.RKey); err != nil {
		s.log.ErrorContext(ctx, "storage: could not withdraw the manifest record of a refused push", "manifest", rec.URI, "err", err)
		return
	}
	s.unindexRecord(ctx, repo.Owner.DID, atcr.ManifestNSID, rec.RKey)
	if idx := s.loadedIndex(repo.Owner.DID); idx != nil {
		idx.removeManifest(rec.RKey)
	}
	s.indexChanged(ctx, repo.Owner.DID)
}

// reusableManifest returns an existing record of the same digest, media
// type and hold in this repository, confirmed on the PDS, or nil.
func (s *Store) reusableManifest(ctx context.Context, repo registry.Repo, put registry.ManifestPut, hold syntax.DID) (*pdsread.ManifestRecord, error) {
	idx, err := s.index(ctx, repo.Owner)
	if err != nil {
		return nil, err
	}
	for _, rec := range idx.byDigest(repo.Path(), put.Digest) {
		if rec.Value.HoldDID != hold.String() || rec.Value.MediaType != put.Manifest.MediaType() {
			continue
		}
		_, err := s.getRecord(ctx, repo.Owner, atcr.ManifestNSID, rec.RKey)
		switch {
		case err == nil:
			return rec, nil
		case errors.Is(err, pdsread.ErrRecordNotFound):
			idx.removeManifest(rec.RKey) // deleted elsewhere
		default:
			return nil, err
		}
	}
	return nil, nil
}

// createManifest uploads the bytes and writes the manifest record.
func (s *Store) createManifest(ctx context.Context, client *atclient.APIClient, repo registry.Repo, put registry.ManifestPut, hold syntax.DID) (*pdsread.ManifestRecord, error) {
	blob, err := uploadBlob(ctx, client, put.Body, put.Manifest.MediaType())
	if err != nil {
		return nil, fmt.Errorf("store manifest %s: %w", put.Digest, err)
	}
	value := manifestRecord(repo.Path(), put.Digest, put.Manifest, hold, blob, s.now())
	m, err := fitManifestRecord(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", registry.ErrManifestNotStorable, err)
	}
	rkey := s.tids.Next().String()
	written, err := writeRecord(ctx, client, repo.Owner.DID, atcr.ManifestNSID, rkey, m, true)
	if err != nil {
		return nil, fmt.Errorf("store manifest %s: %w", put.Digest, err)
	}
	s.indexRecord(ctx, repo.Owner.DID, atcr.ManifestNSID, rkey, written.CID, m)
	rec := &pdsread.ManifestRecord{RKey: rkey, URI: pdsread.ManifestURI(repo.Owner.DID, rkey), Value: *value, Digest: put.Digest, Created: s.now().UTC()}
	if idx := s.loadedIndex(repo.Owner.DID); idx != nil {
		idx.putManifest(rec)
		if b, err := json.Marshal(m); err == nil {
			idx.bytes.Add(int64(len(b)))
		}
	}
	s.indexChanged(ctx, repo.Owner.DID)
	return rec, nil
}

// writeTag points the tag's record at rec, keeping its first creation time.
func (s *Store) writeTag(ctx context.Context, client *atclient.APIClient, repo registry.Repo, tag oci.Tag, rec *pdsread.ManifestRecord) error {
	rkey := pdsread.TagRecordKey(repo.Path(), tag)
	key := tagKey{did: repo.Owner.DID, repo: repo.Path(), tag: tag.String()}
	now := datetime(s.now())
	value := atcr.Tag{Repository: repo.Path(), Tag: tag.String(), Manifest: rec.URI, CreatedAt: now}
	idx := s.loadedIndex(repo.Owner.DID)
	if idx != nil {
		if old := idx.tag(rkey); old != nil && old.Value.CreatedAt != "" {
			value.CreatedAt, value.UpdatedAt = old.Value.CreatedAt, now
			if old.Value.Manifest == rec.URI && s.tagUnchanged(ctx, repo, rkey, rec.URI) {
				// Re-pushing a tag unchanged (CI does it all day) costs a
				// read, not a write against the PDS's write budget.
				version, _ := s.indexVersion(ctx, repo.Owner.DID)
				s.tagCache.Set(key, tagAnswer{digest: rec.Digest, version: version})
				return nil
			}
		}
	}
	m, err := toRecordMap(&value)
	if err != nil {
		return err
	}
	written, err := writeRecord(ctx, client, repo.Owner.DID, atcr.TagNSID, rkey, m, false)
	if err != nil {
		return fmt.Errorf("tag %s: %w", tag, err)
	}
	s.indexRecord(ctx, repo.Owner.DID, atcr.TagNSID, rkey, written.CID, m)
	if idx != nil {
		idx.putTag(&pdsread.TagRecord{RKey: rkey, Value: value, Pushed: s.now().UTC()})
		idx.bytes.Add(tagRecordJSON)
	}
	version := s.indexChanged(ctx, repo.Owner.DID)
	s.tagCache.Set(key, tagAnswer{digest: rec.Digest, version: version})
	return nil
}

// tagUnchanged confirms on the PDS that a tag record already points at uri.
func (s *Store) tagUnchanged(ctx context.Context, repo registry.Repo, rkey, uri string) bool {
	view, err := s.getRecord(ctx, repo.Owner, atcr.TagNSID, rkey)
	if err != nil {
		return false
	}
	t, err := pdsread.DecodeTag(account(repo.Owner), *view)
	return err == nil && t.Value.Manifest == uri
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
	if len(recs) == 0 {
		return fmt.Errorf("delete %s in %s: %w", ref, repo.Name, registry.ErrManifestUnknown)
	}
	client, err := s.userClient(ctx, repo.Owner.DID)
	if err != nil {
		return err
	}
	for _, t := range idx.tagsPointingAt(repo.Path(), recs) {
		if err := deleteRecord(ctx, client, repo.Owner.DID, atcr.TagNSID, t.RKey); err != nil {
			return err
		}
		idx.removeTag(t.RKey)
		s.indexChanged(ctx, repo.Owner.DID)
		s.unindexRecord(ctx, repo.Owner.DID, atcr.TagNSID, t.RKey)
		s.tagCache.Remove(tagKey{did: repo.Owner.DID, repo: repo.Path(), tag: t.Value.Tag})
	}
	for _, rec := range recs {
		if err := deleteRecord(ctx, client, repo.Owner.DID, atcr.ManifestNSID, rec.RKey); err != nil {
			return err
		}
		idx.removeManifest(rec.RKey)
		s.indexChanged(ctx, repo.Owner.DID)
		s.unindexRecord(ctx, repo.Owner.DID, atcr.ManifestNSID, rec.RKey)
		s.notifyHoldDeleted(ctx, repo.Owner.DID, rec)
	}
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
	s.indexChanged(ctx, repo.Owner.DID)
	s.tagCache.Remove(tagKey{did: repo.Owner.DID, repo: repo.Path(), tag: tag.String()})
	return nil
}
