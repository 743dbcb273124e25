package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

// statConcurrency bounds the hold stats one manifest push runs at once.
const statConcurrency = 4

// checkReferences verifies that what a manifest references exists before
// any record is written: the blobs of an image manifest on hold h (where
// the manifest record will send pulls) and not unlinked from the
// repository, the children of an index as
// manifests of the same repository. Missing content is a
// *registry.MissingContentError listing every digest, in manifest order.
func (s *Store) checkReferences(ctx context.Context, repo registry.Repo, h holdclient.Hold, m *oci.Manifest) error {
	refs := uniqueDigests(m.References())
	if len(refs) > s.opts.MaxReferences {
		return fmt.Errorf("%d references, limit %d: %w", len(refs), s.opts.MaxReferences, registry.ErrTooManyReferences)
	}
	missing := make([]bool, len(refs))
	if m.IsIndex() {
		for i, d := range refs {
			recs, err := s.manifestsByDigest(ctx, repo, d)
			if err != nil {
				return err
			}
			missing[i] = len(recs) == 0
		}
	} else {
		// A blob unlinked from this repository is missing here even though
		// the hold still has it (for other repositories).
		unlinked, err := s.unlinkedOf(ctx, repo, refs)
		if err != nil {
			return err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(statConcurrency)
		var mu sync.Mutex
		for i, d := range refs {
			if unlinked[d] {
				missing[i] = true
				continue
			}
			g.Go(func() error {
				_, err := s.statOn(gctx, h, d)
				if errors.Is(err, registry.ErrBlobUnknown) {
					mu.Lock()
					missing[i] = true
					mu.Unlock()
					return nil
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	var out []oci.Digest
	for i, d := range refs {
		if missing[i] {
			out = append(out, d)
		}
	}
	if len(out) > 0 {
		return &registry.MissingContentError{Digests: out}
	}
	return nil
}

// statFresh stats one blob on one hold, asking the hold, and caches the
// answer.
func (s *Store) statFresh(ctx context.Context, h holdclient.Hold, d oci.Digest) (int64, error) {
	n, err := s.hold.StatBlob(ctx, h, d)
	if err != nil {
		s.stats.Remove(blobKey{hold: h.DID, digest: d, caller: h.Caller})
		return 0, err
	}
	s.stats.Set(blobKey{hold: h.DID, digest: d, caller: h.Caller}, n)
	return n, nil
}

// statOn stats one blob on one hold through the stat cache.
func (s *Store) statOn(ctx context.Context, h holdclient.Hold, d oci.Digest) (int64, error) {
	key := blobKey{hold: h.DID, digest: d, caller: h.Caller}
	if n, ok := s.stats.Get(key); ok {
		return n, nil
	}
	n, err := s.hold.StatBlob(ctx, h, d)
	if err != nil {
		return 0, err
	}
	s.stats.Set(key, n)
	return n, nil
}

func uniqueDigests(descs []oci.Descriptor) []oci.Digest {
	seen := make(map[oci.Digest]bool, len(descs))
	out := make([]oci.Digest, 0, len(descs))
	for _, d := range descs {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d.Digest)
		}
	}
	return out
}
