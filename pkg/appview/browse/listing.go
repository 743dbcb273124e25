package browse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	lru "github.com/hashicorp/golang-lru/v2"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/oci"
)

// listing is one account's manifest and tag records at one moment. It is
// never modified after load, so readers need no lock.
type listing struct {
	loadedAt  time.Time
	manifests []*pdsread.ManifestRecord // newest record first (TID keys sort by time)
	tags      []*pdsread.TagRecord
	truncated bool
	bytes     int64 // JSON size of the records kept: the cache's measure
	byURI     map[string]*pdsread.ManifestRecord
	byDigests map[repoDigest]*pdsread.ManifestRecord // the newest record of each
}

type repoDigest struct {
	path   string
	digest oci.Digest
}

// listingCache keeps listings of recently viewed accounts: at most
// maxListings accounts and about maxBytes of record JSON in all (the least
// recently used go first; the newest listing always stays).
type listingCache struct {
	lru      *lru.Cache[syntax.DID, *listing]
	total    atomic.Int64
	maxBytes int64
}

func newListingCache(maxListings int, maxBytes int64) *listingCache {
	c := &listingCache{maxBytes: maxBytes}
	cache, err := lru.NewWithEvict(maxListings, func(_ syntax.DID, l *listing) { c.total.Add(-l.bytes) })
	if err != nil {
		panic("browse: listing cache: " + err.Error()) // only for a size < 1, which New prevents
	}
	c.lru = cache
	return c
}

func (c *listingCache) add(did syntax.DID, l *listing) {
	c.total.Add(l.bytes)
	c.lru.Add(did, l) // a replaced listing is "evicted": its bytes are subtracted
	for c.total.Load() > c.maxBytes && c.lru.Len() > 1 {
		c.lru.RemoveOldest()
	}
}

// listing returns the owner's records, listed afresh when not cached or
// older than Options.ListTTL.
func (s *Service) listing(ctx context.Context, owner Owner) (*listing, error) {
	if l, ok := s.cache.lru.Get(owner.DID); ok && s.now().Sub(l.loadedAt) < s.opts.ListTTL {
		return l, nil
	}
	return s.load(ctx, owner)
}

// relist lists again when the cached listing is older than
// Options.MinRelist: a page asking for something the listing lacks (a
// just-pushed tag) gets a fresh look, without letting requests for unknown
// names hammer the PDS.
func (s *Service) relist(ctx context.Context, owner Owner, l *listing) (*listing, error) {
	if s.now().Sub(l.loadedAt) < s.opts.MinRelist {
		return l, nil
	}
	return s.load(ctx, owner)
}

// load lists both collections; concurrent loads for one account share one
// listing.
func (s *Service) load(ctx context.Context, owner Owner) (*listing, error) {
	v, err, _ := s.flight.Do(owner.DID.String(), func() (any, error) {
		// Detached: the listing serves every request waiting on it; each
		// PDS call is bounded by the reader's timeout.
		ctx := context.WithoutCancel(ctx)
		found, err := s.pds.ListRepository(ctx, owner, pdsread.Limits{MaxRecords: s.opts.MaxRecords, MaxBytes: s.opts.MaxListingBytes}, s.log)
		if errors.Is(err, pdsread.ErrRecordNotFound) {
			// A listing answered "not found": the PDS holds no such
			// repository, so the account has nothing to show here.
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if err != nil {
			return nil, pageErr(err)
		}
		l := &listing{loadedAt: s.now(), manifests: found.Manifests, tags: found.Tags, truncated: found.Truncated, bytes: found.Bytes}
		l.index()
		s.cache.add(owner.DID, l)
		return l, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*listing), nil
}

// manifestsOf returns the repository's manifest entries, newest first.
func (l *listing) manifestsOf(path string) []*pdsread.ManifestRecord {
	var out []*pdsread.ManifestRecord
	for _, e := range l.manifests {
		if e.Value.Repository == path {
			out = append(out, e)
		}
	}
	return out
}

// tagsOf returns the repository's tag entries.
func (l *listing) tagsOf(path string) []*pdsread.TagRecord {
	var out []*pdsread.TagRecord
	for _, e := range l.tags {
		if e.Value.Repository == path {
			out = append(out, e)
		}
	}
	return out
}

// index sorts the manifests newest first and builds the lookup maps.
func (l *listing) index() {
	slices.SortFunc(l.manifests, func(a, b *pdsread.ManifestRecord) int { return strings.Compare(b.RKey, a.RKey) })
	l.byURI = make(map[string]*pdsread.ManifestRecord, len(l.manifests))
	l.byDigests = make(map[repoDigest]*pdsread.ManifestRecord, len(l.manifests))
	for _, e := range l.manifests {
		l.byURI[e.URI] = e
		key := repoDigest{e.Value.Repository, e.Digest}
		if _, ok := l.byDigests[key]; !ok {
			l.byDigests[key] = e
		}
	}
}

// byDigest returns the repository's newest record of d, or nil.
func (l *listing) byDigest(path string, d oci.Digest) *pdsread.ManifestRecord {
	return l.byDigests[repoDigest{path, d}]
}

// target returns the manifest a tag points at: by AT-URI, or by the
// deprecated manifestDigest of old records; nil when it is not listed.
func (l *listing) target(t *pdsread.TagRecord) *pdsread.ManifestRecord {
	if t.Value.Manifest == "" {
		d, err := oci.ParseDigest(t.Value.ManifestDigest)
		if err != nil {
			return nil
		}
		return l.byDigest(t.Value.Repository, d)
	}
	if e := l.byURI[t.Value.Manifest]; e != nil && e.Value.Repository == t.Value.Repository {
		return e
	}
	return nil
}
