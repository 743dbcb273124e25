package storage

import (
	"context"
	"fmt"

	"atcr.io/pkg/appview/pdsread"
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
		if seen[rec.Digest] || len(out) == maxReferrers {
			continue
		}
		seen[rec.Digest] = true
		desc := oci.Descriptor{
			MediaType:    rec.Value.MediaType,
			Digest:       rec.Digest,
			Size:         rec.Value.ManifestBlob.Size,
			ArtifactType: rec.Value.ArtifactType,
			Annotations:  annotations(rec.Value.Annotations),
		}
		if pdsread.MayLackAnnotations(&rec.Value) {
			a, err := s.annotationsFromBytes(ctx, repo.Owner, rec)
			if err != nil {
				return nil, err
			}
			desc.Annotations = a
		}
		out = append(out, desc)
	}
	return out, nil
}

// annotationsFromBytes reads a manifest's annotations from its bytes, for
// records stored without them.
func (s *Store) annotationsFromBytes(ctx context.Context, owner registry.Owner, rec *pdsread.ManifestRecord) (map[string]string, error) {
	body, mediaType := []byte(nil), rec.Value.MediaType
	if cm, ok := s.manifests.Get(manifestKey{did: owner.DID, digest: rec.Digest}); ok {
		body = cm.body
	} else {
		var err error
		if body, err = s.fetchManifest(ctx, owner, rec); err != nil {
			return nil, err
		}
	}
	m, err := oci.ParseManifest(mediaType, body)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: stored bytes do not parse: %w: %w", rec.URI, registry.ErrPDSUnavailable, err)
	}
	return m.Annotations(), nil
}
