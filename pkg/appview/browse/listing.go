package browse

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	lru "github.com/hashicorp/golang-lru/v2"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// manifestEntry is one usable io.atcr.manifest record.
type manifestEntry struct {
	rkey    string
	uri     string
	digest  oci.Digest
	created time.Time
	rec     atcr.Manifest
}

// tagEntry is one usable io.atcr.tag record.
type tagEntry struct {
	pushed time.Time
	rec    atcr.Tag
}

// listing is one account's manifest and tag records at one moment. It is
// never modified after load, so readers need no lock.
type listing struct {
	loadedAt  time.Time
	manifests []*manifestEntry // newest record first (TID keys sort by time)
	tags      []*tagEntry
	truncated bool
	bytes     int64 // JSON size of the records kept: the cache's measure
	byURI     map[string]*manifestEntry
	byDigests map[repoDigest]*manifestEntry // the newest record of each
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
		l := &listing{loadedAt: s.now()}
		// Both collections share one byte budget: records are the
		// account owner's to make as large as their PDS allows.
		fits := func(v recordView) bool {
			l.bytes += int64(len(v.Value))
			return l.bytes <= s.opts.MaxListingBytes
		}
		truncated, err := s.pds.listRecords(ctx, owner, atcr.ManifestNSID, s.opts.MaxRecords, func(v recordView) bool {
			if !fits(v) {
				return false
			}
			if e, err := decodeManifest(owner, v); err == nil {
				l.manifests = append(l.manifests, e)
			} else {
				s.log.DebugContext(ctx, "browse: skipping manifest record", "err", err)
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("list manifests of %s: %w", owner.DID, err)
		}
		l.truncated = truncated
		truncated, err = s.pds.listRecords(ctx, owner, atcr.TagNSID, s.opts.MaxRecords, func(v recordView) bool {
			if !fits(v) {
				return false
			}
			if e, err := decodeTag(owner, v); err == nil {
				l.tags = append(l.tags, e)
			} else {
				s.log.DebugContext(ctx, "browse: skipping tag record", "err", err)
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", owner.DID, err)
		}
		l.truncated = l.truncated || truncated
		l.index()
		s.cache.add(owner.DID, l)
		return l, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*listing), nil
}

// decodeManifest reads a listed io.atcr.manifest record. Records the
// registry could not serve (bad digest, no manifest bytes, a repository
// name outside the OCI grammar) are refused.
func decodeManifest(owner Owner, v recordView) (*manifestEntry, error) {
	uri, err := syntax.ParseATURI(v.URI)
	if err != nil || uri.Collection() != atcr.ManifestNSID {
		return nil, fmt.Errorf("record URI %q is not an %s AT-URI", v.URI, atcr.ManifestNSID)
	}
	var rec atcr.Manifest
	if err := json.Unmarshal(v.Value, &rec); err != nil {
		return nil, fmt.Errorf("decode %s: %w", v.URI, err)
	}
	d, err := oci.ParseDigest(rec.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.URI, err)
	}
	if rec.ManifestBlob == nil || !rec.ManifestBlob.Ref.IsDefined() {
		return nil, fmt.Errorf("%s has no manifestBlob", v.URI)
	}
	if _, err := repoName(owner, rec.Repository); err != nil {
		return nil, fmt.Errorf("%s: %w", v.URI, err)
	}
	return &manifestEntry{rkey: uri.RecordKey().String(), uri: v.URI, digest: d, created: parseTime(rec.CreatedAt), rec: rec}, nil
}

// decodeTag reads a listed io.atcr.tag record.
func decodeTag(owner Owner, v recordView) (*tagEntry, error) {
	var rec atcr.Tag
	if err := json.Unmarshal(v.Value, &rec); err != nil {
		return nil, fmt.Errorf("decode %s: %w", v.URI, err)
	}
	if _, err := oci.ParseTag(rec.Tag); err != nil {
		return nil, fmt.Errorf("%s: %w", v.URI, err)
	}
	if _, err := repoName(owner, rec.Repository); err != nil {
		return nil, fmt.Errorf("%s: %w", v.URI, err)
	}
	pushed := parseTime(rec.UpdatedAt)
	if pushed.IsZero() {
		pushed = parseTime(rec.CreatedAt)
	}
	return &tagEntry{pushed: pushed, rec: rec}, nil
}

// repoName is the full name of one of owner's repositories, spelled with
// the owner's handle when it has one.
func repoName(owner Owner, path string) (oci.Repository, error) {
	return oci.ParseRepository(owner.Name() + "/" + path)
}

// parseTime reads a lexicon datetime; anything else is the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// manifestsOf returns the repository's manifest entries, newest first.
func (l *listing) manifestsOf(path string) []*manifestEntry {
	var out []*manifestEntry
	for _, e := range l.manifests {
		if e.rec.Repository == path {
			out = append(out, e)
		}
	}
	return out
}

// tagsOf returns the repository's tag entries.
func (l *listing) tagsOf(path string) []*tagEntry {
	var out []*tagEntry
	for _, e := range l.tags {
		if e.rec.Repository == path {
			out = append(out, e)
		}
	}
	return out
}

// index sorts the manifests newest first and builds the lookup maps.
func (l *listing) index() {
	slices.SortFunc(l.manifests, func(a, b *manifestEntry) int { return strings.Compare(b.rkey, a.rkey) })
	l.byURI = make(map[string]*manifestEntry, len(l.manifests))
	l.byDigests = make(map[repoDigest]*manifestEntry, len(l.manifests))
	for _, e := range l.manifests {
		l.byURI[e.uri] = e
		key := repoDigest{e.rec.Repository, e.digest}
		if _, ok := l.byDigests[key]; !ok {
			l.byDigests[key] = e
		}
	}
}

// byDigest returns the repository's newest record of d, or nil.
func (l *listing) byDigest(path string, d oci.Digest) *manifestEntry {
	return l.byDigests[repoDigest{path, d}]
}

// target returns the manifest a tag points at: by AT-URI, or by the
// deprecated manifestDigest of old records; nil when it is not listed.
func (l *listing) target(t *tagEntry) *manifestEntry {
	if t.rec.Manifest == "" {
		d, err := oci.ParseDigest(t.rec.ManifestDigest)
		if err != nil {
			return nil
		}
		return l.byDigest(t.rec.Repository, d)
	}
	if e := l.byURI[t.rec.Manifest]; e != nil && e.rec.Repository == t.rec.Repository {
		return e
	}
	return nil
}
