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

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// minIndexRefresh: a lookup that misses reloads an index at most this
// often, so records written by another AppView show up without letting
// requests for unknown digests hammer the PDS.
const minIndexRefresh = 10 * time.Second

// manifestRec is one io.atcr.manifest record.
type manifestRec struct {
	rkey   string
	uri    string
	value  atcr.Manifest
	digest oci.Digest
}

// tagRec is one io.atcr.tag record.
type tagRec struct {
	rkey  string
	value atcr.Tag
}

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
	manifests map[string]*manifestRec
	tags      map[string]*tagRec
	// byDigestKey holds the same records as manifests, by digest.
	byDigestKey map[oci.Digest][]*manifestRec
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
		idx := &repoIndex{
			loadedAt:  s.now(),
			display:   owner.DID.String(),
			manifests: map[string]*manifestRec{},
			tags:      map[string]*tagRec{},
		}
		if owner.Handle != "" {
			idx.display = owner.Handle
		}
		err := s.pds.listRecords(ctx, owner.PDS, owner.DID, atcr.ManifestNSID, s.opts.MaxRecords, func(view recordView) error {
			if rec, err := decodeManifestRecord(view); err == nil {
				idx.putManifest(rec)
			} else {
				s.log.DebugContext(ctx, "storage: skipping manifest record", "err", err)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", owner.DID, err)
		}
		err = s.pds.listRecords(ctx, owner.PDS, owner.DID, atcr.TagNSID, s.opts.MaxRecords, func(view recordView) error {
			if rec, err := decodeTagRecord(view); err == nil {
				idx.tags[rec.rkey] = rec
			} else {
				s.log.DebugContext(ctx, "storage: skipping tag record", "err", err)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", owner.DID, err)
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
func (s *Store) manifestsByDigest(ctx context.Context, repo registry.Repo, d oci.Digest) ([]*manifestRec, error) {
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
func (idx *repoIndex) byDigest(repoPath string, d oci.Digest) []*manifestRec {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var out []*manifestRec
	for _, rec := range idx.byDigestKey[d] {
		if rec.value.Repository == repoPath {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *manifestRec) int { return strings.Compare(b.rkey, a.rkey) })
	return out
}

func (idx *repoIndex) manifest(rkey string) *manifestRec {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return idx.manifests[rkey]
}

func (idx *repoIndex) tag(rkey string) *tagRec {
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
		if t.value.Repository == repoPath {
			out = append(out, t.value.Tag)
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
		if rec.value.Repository == repoPath {
			return true
		}
	}
	return false
}

// referrers returns the repository's records whose subject is d.
func (idx *repoIndex) referrers(repoPath string, d oci.Digest) []*manifestRec {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var out []*manifestRec
	for _, rec := range idx.manifests {
		if rec.value.Repository == repoPath && rec.value.Subject != nil && rec.value.Subject.Digest == d.String() {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *manifestRec) int { return strings.Compare(a.rkey, b.rkey) })
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
	recs := make([]*manifestRec, 0)
	for _, rec := range idx.manifests {
		if rec.value.Repository == repoPath {
			recs = append(recs, rec)
		}
	}
	slices.SortFunc(recs, func(a, b *manifestRec) int { return strings.Compare(b.rkey, a.rkey) })
	var out []syntax.DID
	for _, rec := range recs {
		hold := rec.value.HoldDID
		if hold == "" {
			hold = rec.value.HoldEndpoint
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
func (idx *repoIndex) tagsPointingAt(repoPath string, recs []*manifestRec) []*tagRec {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var out []*tagRec
	for _, t := range idx.tags {
		if t.value.Repository != repoPath {
			continue
		}
		for _, rec := range recs {
			if t.value.Manifest == rec.uri || (t.value.Manifest == "" && t.value.ManifestDigest == rec.digest.String()) {
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
		if !seen[rec.value.Repository] {
			seen[rec.value.Repository] = true
			out = append(out, rec.value.Repository)
		}
	}
	return out
}

func (idx *repoIndex) putManifest(rec *manifestRec) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.dropManifestLocked(rec.rkey)
	idx.manifests[rec.rkey] = rec
	if idx.byDigestKey == nil {
		idx.byDigestKey = map[oci.Digest][]*manifestRec{}
	}
	idx.byDigestKey[rec.digest] = append(idx.byDigestKey[rec.digest], rec)
}

func (idx *repoIndex) putTag(rec *tagRec) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.tags[rec.rkey] = rec
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
	same := slices.DeleteFunc(idx.byDigestKey[old.digest], func(r *manifestRec) bool { return r == old })
	if len(same) == 0 {
		delete(idx.byDigestKey, old.digest)
	} else {
		idx.byDigestKey[old.digest] = same
	}
}

func (idx *repoIndex) removeTag(rkey string) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	delete(idx.tags, rkey)
}
