package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// tagKey names a cached tag → digest answer.
type tagKey struct {
	did  syntax.DID
	repo string
	tag  string
}

// tagAnswer is a cached tag → digest answer and the account's version in
// Redis it is current with (coherence.go; 0 without Redis).
type tagAnswer struct {
	digest  oci.Digest
	version int64
}

// bytes is what the key takes in a cache.
func (k tagKey) bytes() int64 { return int64(len(k.did) + len(k.repo) + len(k.tag)) }

// Tags implements registry.TagService from the owner's index. A
// repository the index does not know yet (pushed through another AppView)
// makes it list again (refreshOnMiss).
func (s *Store) Tags(ctx context.Context, repo registry.Repo) ([]string, error) {
	idx, err := s.index(ctx, repo.Owner)
	if err != nil {
		return nil, err
	}
	if !idx.hasManifests(repo.Path()) {
		if idx, err = s.refreshOnMiss(ctx, repo.Owner, idx); err != nil {
			return nil, err
		}
	}
	names := idx.tagNames(repo.Path())
	if idx.truncated && s.opts.IndexHints != nil {
		names = s.tagsBeyondIndex(ctx, repo, names)
	}
	if len(names) == 0 {
		if !idx.hasManifests(repo.Path()) {
			return nil, fmt.Errorf("tags of %s: %w", repo.Name, registry.ErrNameUnknown)
		}
		names = []string{}
	}
	return names, nil
}

// tagDigest resolves a tag to its manifest's digest: from the tag cache
// (Options.TagTTL, updated by our own writes; with Redis, only while no
// other AppView wrote to the account since), else from the tag record,
// read fresh from the PDS by its key. The manifest record is returned when
// it was read on the way.
//
// With Redis every tag answered from the cache costs one GET of the
// account's version: pub/sub alone would let a pull through this AppView
// right after a push through another one see the old digest.
func (s *Store) tagDigest(ctx context.Context, repo registry.Repo, tag oci.Tag) (oci.Digest, *pdsread.ManifestRecord, error) {
	key := tagKey{did: repo.Owner.DID, repo: repo.Path(), tag: tag.String()}
	cached, hit := s.tagCache.Get(key)
	// Read before the record: a write landing meanwhile moves it past.
	version, versioned := s.indexVersion(ctx, repo.Owner.DID)
	if hit && (!versioned || version <= cached.version) {
		return cached.digest, nil, nil
	}
	if hit && versioned {
		// Another AppView wrote to the account since: our index has its
		// writes once it is current with the version (coherence.go).
		if rec := s.tagFromCurrentIndex(ctx, repo, tag, version); rec != nil {
			s.tagCache.Set(key, tagAnswer{digest: rec.Digest, version: version})
			return rec.Digest, rec, nil
		}
	}
	unknown := func(why string) error {
		return fmt.Errorf("tag %s in %s: %s: %w", tag, repo.Name, why, registry.ErrManifestUnknown)
	}
	view, err := s.getRecord(ctx, repo.Owner, atcr.TagNSID, pdsread.TagRecordKey(repo.Path(), tag))
	if errors.Is(err, pdsread.ErrRecordNotFound) {
		return oci.Digest{}, nil, unknown("no tag record")
	}
	if err != nil {
		return oci.Digest{}, nil, err
	}
	t, err := pdsread.DecodeTag(account(repo.Owner), *view)
	if err != nil || t.Value.Repository != repo.Path() || t.Value.Tag != tag.String() {
		return oci.Digest{}, nil, unknown("unusable tag record")
	}
	rec, err := s.tagTarget(ctx, repo, t)
	if err != nil {
		return oci.Digest{}, nil, err
	}
	s.tagCache.Set(key, tagAnswer{digest: rec.Digest, version: version})
	return rec.Digest, rec, nil
}

// tagFromCurrentIndex answers a tag from the loaded index once it is
// current with version (caught up from the change log if behind): every
// AppView's writes up to it are applied there. Only a tag answered within
// TagTTL is taken from it (the caller checks), so a tag changed directly
// on the PDS is seen as soon as without Redis.
func (s *Store) tagFromCurrentIndex(ctx context.Context, repo registry.Repo, tag oci.Tag, version int64) *pdsread.ManifestRecord {
	idx := s.loadedIndex(repo.Owner.DID)
	if idx == nil || !s.catchUp(ctx, idx, version) {
		return nil
	}
	t := idx.tag(pdsread.TagRecordKey(repo.Path(), tag))
	if t == nil || t.Value.Repository != repo.Path() || t.Value.Tag != tag.String() {
		return nil
	}
	if rec := idx.manifestAt(t.Value.Manifest); rec != nil && rec.Value.Repository == repo.Path() {
		return rec
	}
	return nil
}

// tagTarget finds the manifest record a tag record names: by AT-URI (in
// the loaded index, else read from the PDS), or, for old records, by the
// deprecated manifestDigest.
func (s *Store) tagTarget(ctx context.Context, repo registry.Repo, t *pdsread.TagRecord) (*pdsread.ManifestRecord, error) {
	unknown := fmt.Errorf("tag %s in %s points at no manifest: %w", t.Value.Tag, repo.Name, registry.ErrManifestUnknown)
	if t.Value.Manifest == "" {
		d, err := oci.ParseDigest(t.Value.ManifestDigest)
		if err != nil {
			return nil, unknown
		}
		recs, err := s.manifestsByDigest(ctx, repo, d)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			return nil, unknown
		}
		return recs[0], nil
	}
	uri, err := syntax.ParseATURI(t.Value.Manifest)
	if err != nil || uri.Authority().String() != repo.Owner.DID.String() || uri.Collection() != atcr.ManifestNSID {
		return nil, unknown
	}
	rkey := uri.RecordKey().String()
	if idx := s.loadedIndex(repo.Owner.DID); idx != nil {
		if rec := idx.manifest(rkey); rec != nil && rec.Value.Repository == repo.Path() {
			return rec, nil
		}
	}
	rec, err := s.readManifestRecord(ctx, repo, rkey)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, unknown
	}
	return rec, nil
}

// readManifestRecord reads the owner's manifest record rkey from the PDS:
// nil (and no error) when there is none, it does not decode, or it is
// another repository's.
func (s *Store) readManifestRecord(ctx context.Context, repo registry.Repo, rkey string) (*pdsread.ManifestRecord, error) {
	view, err := s.getRecord(ctx, repo.Owner, atcr.ManifestNSID, rkey)
	if errors.Is(err, pdsread.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rec, err := pdsread.DecodeManifest(account(repo.Owner), *view)
	if err != nil || rec.Value.Repository != repo.Path() {
		return nil, nil
	}
	return rec, nil
}
