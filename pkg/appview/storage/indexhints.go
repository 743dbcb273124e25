package storage

import (
	"context"
	"slices"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

// IndexHints reads an index wider than the repository index listed from
// the PDS (*index.Store, fed by Jetstream and backfills). It is asked only
// when that listing stopped at its bound (an account with more than
// MaxRecords records of a collection, or IndexAccountBytes of them):
// ManifestKeys names the record keys of a digest the listing lacks, each
// read from the PDS and checked, so a stale or wrong hint costs a read,
// never a wrong answer; TagNames adds the tags the listing lacks to a tag
// list.
type IndexHints interface {
	ManifestKeys(ctx context.Context, owner, repository, digest string, limit int) ([]string, error)
	TagNames(ctx context.Context, owner, repository string, limit int) ([]string, error)
}

const (
	// maxHintedKeys bounds the records read for one digest beyond the index.
	maxHintedKeys = 4
	// maxHintedTags bounds the tags a tag list takes from the hints.
	maxHintedTags = 100_000
	// beyondRecordBytes is what a decoded manifest record is counted as in
	// the cache of them (a record names up to MaxReferences blobs; most
	// name a handful).
	beyondRecordBytes = 4 << 10
)

// beyondKey caches what manifestsBeyondIndex found.
type beyondKey struct {
	did    syntax.DID
	repo   string
	digest oci.Digest
}

// manifestsBeyondIndex finds the repository's records of d that a
// truncated repository index lacks, through Options.IndexHints. Found
// records are reused for TagTTL; a miss is asked again each time (the
// hints grow as Jetstream delivers). A failure of the hints is a miss.
func (s *Store) manifestsBeyondIndex(ctx context.Context, repo registry.Repo, d oci.Digest) ([]*pdsread.ManifestRecord, error) {
	key := beyondKey{did: repo.Owner.DID, repo: repo.Path(), digest: d}
	if recs, ok := s.beyond.Get(key); ok {
		return recs, nil
	}
	keys, err := s.opts.IndexHints.ManifestKeys(ctx, repo.Owner.DID.String(), repo.Path(), d.String(), maxHintedKeys)
	if err != nil {
		s.log.WarnContext(ctx, "storage: manifest hints failed; the digest is unknown", "did", repo.Owner.DID, "digest", d, "err", err)
		return nil, nil
	}
	var out []*pdsread.ManifestRecord
	for _, rkey := range keys {
		if _, err := syntax.ParseRecordKey(rkey); err != nil {
			continue
		}
		rec, err := s.readManifestRecord(ctx, repo, rkey)
		if err != nil {
			return nil, err
		}
		if rec != nil && rec.Digest == d { // nil: deleted since it was indexed
			out = append(out, rec)
		}
	}
	if len(out) > 0 {
		s.beyond.Set(key, out)
	}
	return out, nil
}

// tagsBeyondIndex adds to names, the tags a truncated index lists, those
// Options.IndexHints holds; a failure of the hints leaves names as they are.
func (s *Store) tagsBeyondIndex(ctx context.Context, repo registry.Repo, names []string) []string {
	more, err := s.opts.IndexHints.TagNames(ctx, repo.Owner.DID.String(), repo.Path(), maxHintedTags)
	if err != nil {
		s.log.WarnContext(ctx, "storage: tag hints failed; the tag list has the listed tags only", "did", repo.Owner.DID, "err", err)
		return names
	}
	for _, n := range more {
		if _, err := oci.ParseTag(n); err == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
