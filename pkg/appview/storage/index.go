package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/hashicorp/golang-lru/v2/simplelru"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// tagRecordJSON is about the JSON size of a tag record: what a tag our own
// write adds to an index's measure (a manifest record adds its own JSON).
const tagRecordJSON = 300

// minIndexRefresh: a lookup that misses reloads an index at most this
// often, so records written by another AppView show up without letting
// requests for unknown digests hammer the PDS.
const minIndexRefresh = 10 * time.Second

// repoIndex holds one DID's manifest and tag records, listed from its PDS
// (listRecords, bounded by Options.MaxRecords per collection and
// Options.IndexAccountBytes of record JSON) and kept up to date by the
// writes this AppView makes. Rare lookups scan (an index holds at most
// Options.MaxRecords records per collection); the two every pull makes do
// not: a manifest by digest goes through byDigestKey, and the holds of a
// repository (asked for each blob) are kept once computed until a manifest
// record changes.
type repoIndex struct {
	mu        sync.RWMutex
	loadedAt  time.Time
	did       syntax.DID
	display   string // handle, else DID: how the catalog names the owner
	manifests map[string]*pdsread.ManifestRecord
	tags      map[string]*pdsread.TagRecord
	// byDigestKey holds the same records as manifests, by digest.
	byDigestKey map[oci.Digest][]*pdsread.ManifestRecord
	// holdsOf caches holds(repoPath); any manifest change clears it.
	holdsOf map[string][]syntax.DID
	// bytes is the record JSON the index was listed with (the cache's
	// measure of it; records our own writes add are counted too).
	bytes atomic.Int64
	// truncated: the listing stopped at a bound, so a lookup that misses
	// may be wrong.
	truncated bool
	// version is the account's version in Redis the index is current with
	// (read before the listing; see coherence.go); 0 without Redis.
	version atomic.Int64
	// applyMu orders the changes applied to the index (applyChange).
	applyMu sync.Mutex
}

// indexCache keeps the indexes of at most maxIndexes DIDs and about
// maxBytes of their record JSON in all, least recently used evicted (the
// newest always stays).
type indexCache struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[syntax.DID, *repoIndex]
	maxBytes int64
}

func newIndexCache(maxIndexes int, maxBytes int64) *indexCache {
	c := &indexCache{maxBytes: maxBytes}
	l, err := simplelru.NewLRU[syntax.DID, *repoIndex](maxIndexes, nil)
	if err != nil {
		panic("storage: index cache: " + err.Error())
	}
	c.lru = l
	return c
}

func (c *indexCache) get(did syntax.DID) (*repoIndex, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Get(did)
}

func (c *indexCache) peek(did syntax.DID) (*repoIndex, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Peek(did)
}

// remove drops the DID's index (another AppView changed its records).
func (c *indexCache) remove(did syntax.DID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(did)
}

// purge drops every index (invalidations may have been lost).
func (c *indexCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Purge()
}

// add keeps idx and evicts the least recently used indexes while their
// record JSON passes the bound.
func (c *indexCache) add(did syntax.DID, idx *repoIndex) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Add(did, idx)
	for c.totalLocked() > c.maxBytes && c.lru.Len() > 1 {
		c.lru.RemoveOldest()
	}
}

// totalLocked sums the indexes' bytes; they grow as our own writes land,
// so the sum is taken rather than kept.
func (c *indexCache) totalLocked() int64 {
	var n int64
	for _, idx := range c.lru.Values() {
		n += idx.bytes.Load()
	}
	return n
}

// snapshot returns the cached indexes, for the catalog.
func (c *indexCache) snapshot() []*repoIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Values()
}

// index returns the owner's index, listing it from the PDS when absent or
// older than Options.IndexTTL.
func (s *Store) index(ctx context.Context, owner registry.Owner) (*repoIndex, error) {
	if idx, ok := s.indexes.get(owner.DID); ok && s.now().Sub(idx.loaded()) < s.opts.IndexTTL {
		return idx, nil
	}
	return s.loadIndex(ctx, owner)
}

// refreshIndex reloads the owner's index unless it was loaded within
// minAge; a zero minAge always reloads.
func (s *Store) refreshIndex(ctx context.Context, owner registry.Owner, minAge time.Duration) (*repoIndex, error) {
	if idx, ok := s.indexes.get(owner.DID); ok && minAge > 0 && s.now().Sub(idx.loaded()) < minAge {
		return idx, nil
	}
	return s.loadIndex(ctx, owner)
}

// loadIndex lists both collections. Concurrent loads of one DID share one
// listing, run under the context of the request that started it: if that
// client goes away the listing stops, and a request still waiting starts it
// again under its own. At most Options.IndexLoads listings run at once; a
// request waiting for a slot gives up when its client does.
func (s *Store) loadIndex(ctx context.Context, owner registry.Owner) (*repoIndex, error) {
	for {
		ch := s.flight.DoChan("index "+owner.DID.String(), func() (any, error) {
			idx, err := s.listIndex(ctx, owner)
			if err != nil && ctx.Err() != nil {
				return nil, errLeaderGone{err}
			}
			return idx, err
		})
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("index %s: %w", owner.DID, ctx.Err())
		case r := <-ch:
			var gone errLeaderGone
			if r.Err != nil && ctx.Err() == nil && errors.As(r.Err, &gone) {
				continue // the request that led the listing went away; lead it
			}
			if r.Err != nil {
				return nil, r.Err
			}
			return r.Val.(*repoIndex), nil
		}
	}
}

// errLeaderGone is a listing that failed because the request it ran for
// went away; requests still waiting for it start it again.
type errLeaderGone struct{ err error }

func (e errLeaderGone) Error() string { return e.err.Error() }
func (e errLeaderGone) Unwrap() error { return e.err }

// listIndex lists an owner's records into a new index and caches it.
func (s *Store) listIndex(ctx context.Context, owner registry.Owner) (*repoIndex, error) {
	if err := s.indexLoads.Acquire(ctx, 1); err != nil {
		return nil, fmt.Errorf("index %s: wait for a listing slot: %w", owner.DID, err)
	}
	defer s.indexLoads.Release(1)
	// Read before listing: a write landing meanwhile moves the version
	// past it, so the index is never taken for newer than it is.
	version, _ := s.indexVersion(ctx, owner.DID)
	l, err := s.pds.ListRepository(ctx, account(owner),
		pdsread.Limits{MaxRecords: s.opts.MaxRecords, MaxBytes: s.opts.IndexAccountBytes}, s.log)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", owner.DID, pdsErr(err))
	}
	if l.Truncated {
		s.log.WarnContext(ctx, "storage: repository index truncated at its bound", "did", owner.DID,
			"bytes", l.Bytes, "manifests", len(l.Manifests), "tags", len(l.Tags))
	}
	idx := &repoIndex{
		loadedAt:  s.now(),
		did:       owner.DID,
		display:   owner.DID.String(),
		manifests: map[string]*pdsread.ManifestRecord{},
		tags:      map[string]*pdsread.TagRecord{},
		truncated: l.Truncated,
	}
	idx.bytes.Store(l.Bytes)
	idx.version.Store(version)
	if owner.Handle != "" {
		idx.display = owner.Handle
	}
	for _, rec := range l.Manifests {
		idx.putManifest(rec)
	}
	for _, rec := range l.Tags {
		idx.tags[rec.RKey] = rec
	}
	s.indexes.add(owner.DID, idx)
	return idx, nil
}

// loadedIndex returns the owner's index only if it is in memory: writes
// update it, and a missing index is simply listed fresh on next use.
func (s *Store) loadedIndex(did syntax.DID) *repoIndex {
	idx, _ := s.indexes.peek(did)
	return idx
}

// refreshOnMiss reloads the owner's index after a lookup missed: at once
// when another AppView wrote to the account since it was listed (Redis),
// else at most every minIndexRefresh.
func (s *Store) refreshOnMiss(ctx context.Context, owner registry.Owner, idx *repoIndex) (*repoIndex, error) {
	if s.indexOutdated(ctx, idx) {
		return s.refreshIndex(ctx, owner, 0)
	}
	return s.refreshIndex(ctx, owner, minIndexRefresh)
}

// manifestsByDigest finds the repository's records of a digest (in a
// truncated index, also through Options.IndexHints), reloading
// the index once when it misses (refreshOnMiss).
func (s *Store) manifestsByDigest(ctx context.Context, repo registry.Repo, d oci.Digest) ([]*pdsread.ManifestRecord, error) {
	idx, err := s.index(ctx, repo.Owner)
	if err != nil {
		return nil, err
	}
	if recs := idx.byDigest(repo.Path(), d); len(recs) > 0 {
		return recs, nil
	}
	// Past a truncated index's bound a new listing would not help (it
	// stops at the same bound): the hints are asked first.
	if idx.truncated && s.opts.IndexHints != nil {
		if recs, err := s.manifestsBeyondIndex(ctx, repo, d); err != nil || len(recs) > 0 {
			return recs, err
		}
	}
	if idx, err = s.refreshOnMiss(ctx, repo.Owner, idx); err != nil {
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

// tagNames returns the repository's tags, sorted: those a pull could
// resolve (tagMayResolveLocked), so tools that copy every listed tag do
// not meet tags the owner pointed at someone else's manifest.
func (idx *repoIndex) tagNames(repoPath string) []string {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var out []string
	for _, t := range idx.tags {
		if t.Value.Repository == repoPath && idx.tagMayResolveLocked(repoPath, t) {
			out = append(out, t.Value.Tag)
		}
	}
	slices.Sort(out)
	return out
}

// tagMayResolveLocked is false for a tag that tagTarget would refuse on
// what the index already holds: a manifest AT-URI of another account or
// collection, or of a manifest of another repository; a deprecated
// manifestDigest no manifest of the repository has (in an index that is
// not truncated). A manifest the index does not hold yet leaves the tag
// listed: the pull decides.
func (idx *repoIndex) tagMayResolveLocked(repoPath string, t *pdsread.TagRecord) bool {
	if t.Value.Manifest != "" {
		u, err := syntax.ParseATURI(t.Value.Manifest)
		if err != nil || u.Authority().String() != idx.did.String() || u.Collection() != atcr.ManifestNSID {
			return false
		}
		rec := idx.manifests[u.RecordKey().String()]
		return rec == nil || rec.Value.Repository == repoPath
	}
	d, err := oci.ParseDigest(t.Value.ManifestDigest)
	if err != nil {
		return false
	}
	if idx.truncated {
		return true
	}
	for _, rec := range idx.byDigestKey[d] {
		if rec.Value.Repository == repoPath {
			return true
		}
	}
	return false
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
		did, err := pdsread.ManifestHold(&rec.Value)
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
		if t.Value.Repository == repoPath && tagPointsAt(t, recs) {
			out = append(out, t)
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

// tagPointsAt reports whether t names one of recs (by URI, or by digest
// for a tag written without one).
func tagPointsAt(t *pdsread.TagRecord, recs []*pdsread.ManifestRecord) bool {
	for _, rec := range recs {
		if t.Value.Manifest == rec.URI || (t.Value.Manifest == "" && t.Value.ManifestDigest == rec.Digest.String()) {
			return true
		}
	}
	return false
}
