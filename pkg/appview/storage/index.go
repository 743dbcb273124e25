package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	lru "github.com/hashicorp/golang-lru/v2"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

// minIndexRefresh: a lookup that misses reloads an index at most this
// often, so records written by another AppView show up without letting
// requests for unknown digests hammer the PDS.
const minIndexRefresh = 10 * time.Second

// repoIndex holds one DID's manifest and tag records, listed from its PDS
// (listRecords, bounded by Options.MaxRecords per collection) and kept up
// to date by the writes this AppView makes. Rare lookups scan (an index
// holds at most Options.MaxRecords records per collection); the two every
// pull makes do not: a manifest by digest goes through byDigestKey, and the
// holds of a repository (asked for each blob) are kept once computed until
// a manifest record changes.
type repoIndex struct {
	mu        sync.RWMutex
	loadedAt  time.Time
	display   string // handle, else DID: how the catalog names the owner
	manifests map[string]*pdsread.ManifestRecord
	tags      map[string]*pdsread.TagRecord
	// byDigestKey holds the same records as manifests, by digest.
	byDigestKey map[oci.Digest][]*pdsread.ManifestRecord
	// holdsOf caches holds(repoPath); any manifest change clears it.
	holdsOf map[string][]syntax.DID
}

// indexCache bounds the indexes kept, least recently used evicted.
type indexCache struct {
	lru *lru.Cache[syntax.DID, *repoIndex]
}

func newIndexCache(size int) *indexCache {
	c, err := lru.New[syntax.DID, *repoIndex](size)
	if err != nil {
		panic("storage: index cache: " + err.Error())
	}
	return &indexCache{lru: c}
}

// index returns the owner's index, listing it from the PDS when absent or
// older than Options.IndexTTL.
func (s *Store) index(ctx context.Context, owner registry.Owner) (*repoIndex, error) {
	if idx, ok := s.indexes.lru.Get(owner.DID); ok && s.now().Sub(idx.loaded()) < s.opts.IndexTTL {
		return idx, nil
	}
	return s.loadIndex(ctx, owner)
}

// refreshIndex reloads the owner's index unless it was loaded within
// minAge; a zero minAge always reloads.
func (s *Store) refreshIndex(ctx context.Context, owner registry.Owner, minAge time.Duration) (*repoIndex, error) {
	if idx, ok := s.indexes.lru.Get(owner.DID); ok && minAge > 0 && s.now().Sub(idx.loaded()) < minAge {
		return idx, nil
	}
	return s.loadIndex(ctx, owner)
}

// loadIndex lists both collections; concurrent loads of one DID share one
// listing.
func (s *Store) loadIndex(ctx context.Context, owner registry.Owner) (*repoIndex, error) {
	v, err, _ := s.flight.Do("index "+owner.DID.String(), func() (any, error) {
		// Detached: the listing serves every request waiting on it; each
		// PDS call is bounded by the read client's timeout.
		ctx := context.WithoutCancel(ctx)
		l, err := s.pds.ListRepository(ctx, account(owner), pdsread.Limits{MaxRecords: s.opts.MaxRecords}, s.log)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", owner.DID, pdsErr(err))
		}
		idx := &repoIndex{
			loadedAt:  s.now(),
			display:   owner.DID.String(),
			manifests: map[string]*pdsread.ManifestRecord{},
			tags:      map[string]*pdsread.TagRecord{},
		}
		if owner.Handle != "" {
			idx.display = owner.Handle
		}
		for _, rec := range l.Manifests {
			idx.putManifest(rec)
		}
		for _, rec := range l.Tags {
			idx.tags[rec.RKey] = rec
		}
		s.indexes.lru.Add(owner.DID, idx)
		return idx, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*repoIndex), nil
}

// loadedIndex returns the owner's index only if it is in memory: writes
// update it, and a missing index is simply listed fresh on next use.
func (s *Store) loadedIndex(did syntax.DID) *repoIndex {
	idx, _ := s.indexes.lru.Peek(did)
	return idx
}

// manifestsByDigest finds the repository's records of a digest, reloading
// the index once when it misses and is not brand new.
func (s *Store) manifestsByDigest(ctx context.Context, repo registry.Repo, d oci.Digest) ([]*pdsread.ManifestRecord, error) {
	idx, err := s.index(ctx, repo.Owner)
	if err != nil {
		return nil, err
	}
	if recs := idx.byDigest(repo.Path(), d); len(recs) > 0 {
		return recs, nil
	}
	if idx, err = s.refreshIndex(ctx, repo.Owner, minIndexRefresh); err != nil {
		return nil, err
	}
	return idx.byDigest(repo.Path(), d), nil
}

func (idx *repoIndex) loaded() time.Time {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return idx.loadedAt
}

// byDigest returns the repository's records of d, newest first (TID keys
// sort by time).
func (idx *repoIndex) byDigest(repoPath string, d oci.Digest) []*pdsread.ManifestRecord {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var out []*pdsread.ManifestRecord
	for _, rec := range idx.byDigestKey[d] {
		if rec.Value.Repository == repoPath {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *pdsread.ManifestRecord) int { return strings.Compare(b.RKey, a.RKey) })
	return out
}

func (idx *repoIndex) manifest(rkey string) *pdsread.ManifestRecord {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return idx.manifests[rkey]
}

func (idx *repoIndex) tag(rkey string) *pdsread.TagRecord {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return idx.tags[rkey]
}

// tagNames returns the repository's tags, sorted.
func (idx *repoIndex) tagNames(repoPath string) []string {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var out []string
	for _, t := range idx.tags {
		if t.Value.Repository == repoPath {
			out = append(out, t.Value.Tag)
		}
	}
	slices.Sort(out)
	return out
}

// hasManifests reports whether the repository has any manifest record.
func (idx *repoIndex) hasManifests(repoPath string) bool {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	for _, rec := range idx.manifests {
		if rec.Value.Repository == repoPath {
			return true
		}
	}
	return false
}

// referrers returns the repository's records whose subject is d.
func (idx *repoIndex) referrers(repoPath string, d oci.Digest) []*pdsread.ManifestRecord {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var out []*pdsread.ManifestRecord
	for _, rec := range idx.manifests {
		if rec.Value.Repository == repoPath && rec.Value.Subject != nil && rec.Value.Subject.Digest == d.String() {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *pdsread.ManifestRecord) int { return strings.Compare(a.RKey, b.RKey) })
	return out
}

// holds returns the distinct holds of the repository's manifests, newest
// manifest first. Old records that only carry the deprecated holdEndpoint
// URL name the did:web of its host. The result is shared: callers must not
// modify it.
func (idx *repoIndex) holds(repoPath string) []syntax.DID {
	idx.mu.RLock()
	cached, ok := idx.holdsOf[repoPath]
	idx.mu.RUnlock()
	if ok {
		return cached
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if cached, ok := idx.holdsOf[repoPath]; ok {
		return cached
	}
	recs := make([]*pdsread.ManifestRecord, 0)
	for _, rec := range idx.manifests {
		if rec.Value.Repository == repoPath {
			recs = append(recs, rec)
		}
	}
	slices.SortFunc(recs, func(a, b *pdsread.ManifestRecord) int { return strings.Compare(b.RKey, a.RKey) })
	var out []syntax.DID
	for _, rec := range recs {
		hold := rec.Value.HoldDID
		if hold == "" {
			hold = rec.Value.HoldEndpoint
		}
		did, err := normaliseHold(hold)
		if err == nil && !slices.Contains(out, did) {
			out = append(out, did)
		}
	}
	if idx.holdsOf == nil {
		idx.holdsOf = map[string][]syntax.DID{}
	}
	idx.holdsOf[repoPath] = out
	return out
}

// tagsPointingAt returns the tag records that name one of recs, by AT-URI
// or by the deprecated manifestDigest.
func (idx *repoIndex) tagsPointingAt(repoPath string, recs []*pdsread.ManifestRecord) []*pdsread.TagRecord {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var out []*pdsread.TagRecord
	for _, t := range idx.tags {
		if t.Value.Repository != repoPath {
			continue
		}
		for _, rec := range recs {
			if t.Value.Manifest == rec.URI || (t.Value.Manifest == "" && t.Value.ManifestDigest == rec.Digest.String()) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// repos returns the repository paths with at least one manifest.
func (idx *repoIndex) repos() []string {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, rec := range idx.manifests {
		if !seen[rec.Value.Repository] {
			seen[rec.Value.Repository] = true
			out = append(out, rec.Value.Repository)
		}
	}
	return out
}

func (idx *repoIndex) putManifest(rec *pdsread.ManifestRecord) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.dropManifestLocked(rec.RKey)
	idx.manifests[rec.RKey] = rec
	if idx.byDigestKey == nil {
		idx.byDigestKey = map[oci.Digest][]*pdsread.ManifestRecord{}
	}
	idx.byDigestKey[rec.Digest] = append(idx.byDigestKey[rec.Digest], rec)
}

func (idx *repoIndex) putTag(rec *pdsread.TagRecord) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.tags[rec.RKey] = rec
}

func (idx *repoIndex) removeManifest(rkey string) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.dropManifestLocked(rkey)
}

// dropManifestLocked removes the record under rkey from every map and
// clears the holds cache (idx.mu held for writing).
func (idx *repoIndex) dropManifestLocked(rkey string) {
	idx.holdsOf = nil
	old, ok := idx.manifests[rkey]
	if !ok {
		return
	}
	delete(idx.manifests, rkey)
	same := slices.DeleteFunc(idx.byDigestKey[old.Digest], func(r *pdsread.ManifestRecord) bool { return r == old })
	if len(same) == 0 {
		delete(idx.byDigestKey, old.Digest)
	} else {
		idx.byDigestKey[old.Digest] = same
	}
}

func (idx *repoIndex) removeTag(rkey string) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	delete(idx.tags, rkey)
}
