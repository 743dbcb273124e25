package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"

	"atcr.io/pkg/oci"
)

// Every blob HEAD and GET asks whether the blob is unlinked from the
// repository (unlink.go). Unlinks are rare and the answer almost always
// "no", yet each question was a database query: in a cluster one
// PostgreSQL round trip per blob request, the most frequent query by far
// under the mixed load. The answers are cached here per repository and
// digest:
//
//   - This AppView's own unlinks and relinks update the cache after the
//     database write, and move a local generation (Store.unlinkGen) that
//     every cached answer must be current with, so an answer a concurrent
//     request read before the write cannot replace the new one.
//   - With Redis, another AppView's unlink or relink increments the
//     account's unlink version (unlinkVersionKey) after its database
//     write, and a cached answer counts only while the version has not
//     moved past the one read before it was taken (one GET per question,
//     as tags do with the index version). The version is the account's
//     own, separate from the index version, which every push moves: the
//     answers of a busy account would otherwise be read again after each
//     of its pushes.
//   - Without Redis, answers are reused for Options.TagTTL, so an AppView
//     sharing the database without Redis sees another's unlink as late as
//     a moved tag.
//
// A Redis that does not answer leaves the TTL-bounded behaviour, as for
// tags.
const unlinkVersionKey = "atcr:storage:unlink-version:"

// unlinkKey names a cached answer: is digest unlinked from the repository?
type unlinkKey struct {
	did    syntax.DID
	repo   string
	digest oci.Digest
}

// bytes is what the key takes in a cache.
func (k unlinkKey) bytes() int64 { return int64(len(k.did)+len(k.repo)) + digestBytes }

// unlinkAnswer is a cached answer, the account's unlink version it was
// read under (0 without Redis) and the Store's unlink generation.
type unlinkAnswer struct {
	unlinked bool
	version  int64
	gen      int64
}

// isUnlinked reports whether d is unlinked from the repository, from the
// cache when its answer is current, else from the database.
func (s *Store) isUnlinked(ctx context.Context, did syntax.DID, repoPath string, d oci.Digest) (bool, error) {
	key := unlinkKey{did: did, repo: repoPath, digest: d}
	// Both read before the database: an unlink landing meanwhile moves
	// them past.
	gen := s.unlinkGen.Load()
	version, versioned := s.unlinkVersion(ctx, did)
	if a, ok := s.unlinks.Get(key); ok && a.gen >= gen && (!versioned || a.version >= version) {
		return a.unlinked, nil
	}
	found, err := s.tombstones.BlobTombstones(ctx, did, repoPath, d.String())
	if err != nil {
		return false, err
	}
	s.unlinks.Set(key, unlinkAnswer{unlinked: len(found) > 0, version: version, gen: gen})
	return len(found) > 0, nil
}

// unlinkWritten records this AppView's unlink (unlinked) or relink of d,
// already in the database: the other AppViews are told through the
// version, then the cache takes the answer under the new version.
func (s *Store) unlinkWritten(ctx context.Context, did syntax.DID, repoPath string, d oci.Digest, unlinked bool) {
	key := unlinkKey{did: did, repo: repoPath, digest: d}
	gen := s.unlinkGen.Add(1)
	version, err := s.bumpUnlinkVersion(ctx, did)
	if err != nil {
		// The others see it once their answers expire, as without Redis;
		// ours must not outlive it either.
		s.log.WarnContext(ctx, "storage: announce unlink", "did", did, "err", err)
		s.unlinks.Remove(key)
		return
	}
	s.unlinks.Set(key, unlinkAnswer{unlinked: unlinked, version: version, gen: gen})
}

// unlinkVersion returns the account's unlink version in Redis (0 before
// any unlink); ok is false without Redis or when it did not answer.
func (s *Store) unlinkVersion(ctx context.Context, did syntax.DID) (int64, bool) {
	return s.readVersion(ctx, unlinkVersionKey+did.String())
}

// bumpUnlinkVersion increments the account's unlink version (0, nil
// without Redis). The key outlives every cached answer and is refreshed
// by each unlink, as the index version is.
func (s *Store) bumpUnlinkVersion(ctx context.Context, did syntax.DID) (int64, error) {
	if s.coh == nil {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), coherenceTimeout)
	defer cancel()
	v, err := bumpScript.Run(ctx, s.coh.rdb, []string{unlinkVersionKey + did.String()}, int64(indexVersionTTL/time.Second)).Int64()
	if err != nil {
		return 0, fmt.Errorf("unlink version of %s: %w", did, err)
	}
	return v, nil
}

// bumpScript increments a version counter (KEYS[1], started by
// versionBase, coherence.go) and gives it a TTL of ARGV[1] seconds.
var bumpScript = redis.NewScript(versionBase + `
local v = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return v
`)
