package storage

import (
	"context"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

// The upload sessions are pkg/appview/uploads'; the Store adapts them to
// registry.UploadService and adds what a finished upload means for the
// repository: its size is known on its hold, and it is linked again if a
// blob DELETE had unlinked it.

// StartUpload implements registry.UploadService.
func (s *Store) StartUpload(ctx context.Context, repo registry.Repo, expected oci.Digest) (registry.Upload, error) {
	return s.uploads.Start(ctx, repo, expected)
}

// GetUpload implements registry.UploadService.
func (s *Store) GetUpload(ctx context.Context, repo registry.Repo, id string) (registry.Upload, error) {
	return s.uploads.Get(ctx, repo, id)
}

// WriteUpload implements registry.UploadService.
func (s *Store) WriteUpload(ctx context.Context, repo registry.Repo, id string, chunk registry.Chunk) (registry.Upload, error) {
	return s.uploads.Write(ctx, repo, id, chunk)
}

// CancelUpload implements registry.UploadService.
func (s *Store) CancelUpload(ctx context.Context, repo registry.Repo, id string) error {
	return s.uploads.Cancel(ctx, repo, id)
}

// FinishUpload implements registry.UploadService: the hold completes the
// upload and verifies d; then d's size is remembered for the owner, and d
// is linked to the repository again if it had been unlinked.
func (s *Store) FinishUpload(ctx context.Context, repo registry.Repo, id string, d oci.Digest) (int64, error) {
	done, err := s.uploads.Finish(ctx, repo, id, d)
	if err != nil {
		return 0, err
	}
	s.stats.Set(blobKey{hold: done.Hold, digest: d, caller: repo.Owner.DID}, done.Size)
	// Uploading a blob into a repository it was deleted from links it
	// again, also when the client left during the completion (Finish ran
	// on without it).
	if err := s.relink(context.WithoutCancel(ctx), repo.Owner.DID, repo.Path(), d); err != nil {
		return 0, err
	}
	return done.Size, nil
}

// BufferedBytes reports the memory upload sessions hold now (see
// uploads.Manager.BufferedBytes).
func (s *Store) BufferedBytes() int64 { return s.uploads.BufferedBytes() }

// Drain makes chunks waiting for upload memory give up at once; call it
// when shutdown begins (see uploads.Manager.Drain).
func (s *Store) Drain() { s.uploads.Drain() }

// Close aborts every open upload session on its hold (see
// uploads.Manager.Close) and stops following other AppViews' writes.
func (s *Store) Close(ctx context.Context) error {
	if s.coh != nil {
		s.coh.close()
	}
	return s.uploads.Close(ctx)
}

// pushTarget is the hold an owner's uploads go to, called as the owner.
func (s *Store) pushTarget(ctx context.Context, owner registry.Owner) (holdclient.Hold, error) {
	did, err := s.pushHold(ctx, owner)
	if err != nil {
		return holdclient.Hold{}, err
	}
	return s.hold.Hold(ctx, did, owner.DID)
}
