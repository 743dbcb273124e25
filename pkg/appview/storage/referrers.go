package storage

import (
	"context"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

// maxReferrers bounds one referrers answer.
const maxReferrers = 1000

// Referrers implements registry.ReferrerService from the owner's index:
// manifests of the repository whose subject is the digest, each described
// by its media type, digest, size, artifact type and annotations.
func (s *Store) Referrers(ctx context.Context, repo registry.Repo, subject oci.Digest) ([]oci.Descriptor, error) {
	idx, err := s.index(ctx, repo.Owner)
	if err != nil {
		return nil, err
	}
	seen := map[oci.Digest]bool{}
	out := []oci.Descriptor{}
	for _, rec := range idx.referrers(repo.Path(), subject) {
		if seen[rec.digest] || len(out) == maxReferrers {
			continue
		}
		seen[rec.digest] = true
		out = append(out, oci.Descriptor{
			MediaType:    rec.value.MediaType,
			Digest:       rec.digest,
			Size:         rec.value.ManifestBlob.Size,
			ArtifactType: rec.value.ArtifactType,
			Annotations:  annotations(rec.value.Annotations),
		})
	}
	return out, nil
}
