package storage

import (
	"context"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

// Tombstones persists which blobs are unlinked from which repository.
// *db.DB implements it; tombstones exist nowhere else (not in the PDS, not
// in the hold), so they must survive a restart.
type Tombstones interface {
	// PutBlobTombstone records an unlink.
	PutBlobTombstone(ctx context.Context, t db.BlobTombstone) error
	// BlobTombstones returns those of digests unlinked from the repository.
	BlobTombstones(ctx context.Context, did syntax.DID, repository string, digests ...string) ([]string, error)
	// ClearBlobTombstone links a digest to the repository again.
	ClearBlobTombstone(ctx context.Context, did syntax.DID, repository, digest string) (bool, error)
}

var _ Tombstones = (*db.DB)(nil)

// DeleteBlob implements registry.BlobService. The repository must have the
// blob now (not unlinked, and on one of the holds a pull would ask); then a
// tombstone unlinks it and the cached answers about it are dropped. The
// hold is not told: the bytes are shared, and its garbage collection
// reclaims them once no layer record references them.
func (s *Store) DeleteBlob(ctx context.Context, repo registry.Repo, d oci.Digest) error {
	if err := s.checkLinked(ctx, repo, d); err != nil {
		return err
	}
	var holds []syntax.DID
	err := s.eachHold(ctx, repo, false, func(h holdclient.Hold) error {
		holds = append(holds, h.DID)
		_, err := s.statOn(ctx, h, d)
		return err
	})
	if err != nil {
		return err
	}
	err = s.tombstones.PutBlobTombstone(ctx, db.BlobTombstone{
		DID: repo.Owner.DID, Repository: repo.Path(), Digest: d.String(), DeletedAt: s.now(),
	})
	if err != nil {
		return fmt.Errorf("unlink %s from %s: %w", d, repo.Name, err)
	}
	s.unlinkWritten(ctx, repo.Owner.DID, repo.Path(), d, true)
	s.forgetBlob(holds, d, callerDID(ctx), repo.Owner.DID)
	return nil
}

// MountBlob implements registry.BlobService: a blob on the owner's push
// hold is linked into repo (clearing an unlink there), unless it is
// unlinked from the source repository the client named. The target's own
// unlink does not stop a mount: a mount is how a blob comes back.
func (s *Store) MountBlob(ctx context.Context, repo registry.Repo, d oci.Digest, from *registry.Repo) error {
	if from != nil {
		if err := s.checkLinked(ctx, *from, d); err != nil {
			return fmt.Errorf("mount from %s: %w", from.Name, err)
		}
	}
	// Asked fresh, as the owner: a mount is a reference to the blob, which
	// keeps the hold's garbage collection off it.
	err := s.eachHold(ctx, repo, true, func(h holdclient.Hold) error {
		_, err := s.statFresh(ctx, h, d)
		return err
	})
	if err != nil {
		return err
	}
	return s.relink(ctx, repo.Owner.DID, repo.Path(), d)
}

// checkLinked returns ErrBlobUnknown when d is unlinked from repo. It runs
// before the stat and presign caches are consulted: they are keyed by
// hold, and the bytes stay on the hold after an unlink. Its own answers
// are cached, current with every unlink (unlinkcache.go).
func (s *Store) checkLinked(ctx context.Context, repo registry.Repo, d oci.Digest) error {
	unlinked, err := s.isUnlinked(ctx, repo.Owner.DID, repo.Path(), d)
	if err != nil {
		return fmt.Errorf("blob %s in %s: %w", d, repo.Name, err)
	}
	if unlinked {
		return fmt.Errorf("blob %s was deleted from %s: %w", d, repo.Name, registry.ErrBlobUnknown)
	}
	return nil
}

// unlinkedOf returns the set of digests unlinked from repo.
func (s *Store) unlinkedOf(ctx context.Context, repo registry.Repo, digests []oci.Digest) (map[oci.Digest]bool, error) {
	keys := make([]string, len(digests))
	for i, d := range digests {
		keys[i] = d.String()
	}
	unlinked, err := s.tombstones.BlobTombstones(ctx, repo.Owner.DID, repo.Path(), keys...)
	if err != nil {
		return nil, fmt.Errorf("blobs of %s: %w", repo.Name, err)
	}
	out := make(map[oci.Digest]bool, len(unlinked))
	for _, u := range unlinked {
		d, err := oci.ParseDigest(u)
		if err != nil {
			return nil, fmt.Errorf("blobs of %s: stored tombstone %q: %w", repo.Name, u, err)
		}
		out[d] = true
	}
	return out, nil
}

// relink clears an unlink of d from the repository after an upload or a
// mount put the blob back. It runs whatever the client does meanwhile: the
// blob is already stored.
func (s *Store) relink(ctx context.Context, did syntax.DID, repoPath string, d oci.Digest) error {
	ctx = context.WithoutCancel(ctx)
	// A read first (cached, unlinkcache.go): uploads are frequent, unlinks
	// rare, and a read never waits for the database's writer.
	unlinked, err := s.isUnlinked(ctx, did, repoPath, d)
	if err == nil && unlinked {
		if _, err = s.tombstones.ClearBlobTombstone(ctx, did, repoPath, d.String()); err == nil {
			s.unlinkWritten(ctx, did, repoPath, d, false)
		}
	}
	if err != nil {
		return fmt.Errorf("link %s to %s/%s: %w", d, did, repoPath, err)
	}
	return nil
}

// forgetBlob drops the cached stats and presigned URLs of d on holds for
// callers and anonymous callers. Entries of other callers stay until they
// expire, unreachable behind the tombstone.
func (s *Store) forgetBlob(holds []syntax.DID, d oci.Digest, callers ...syntax.DID) {
	callers = append(callers[:len(callers):len(callers)], "")
	for _, h := range holds {
		for _, c := range callers {
			key := blobKey{hold: h, digest: d, caller: c}
			s.stats.Remove(key)
			s.presigned.Remove(key)
		}
	}
}
