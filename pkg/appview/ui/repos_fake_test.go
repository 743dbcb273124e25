package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"atcr.io/internal/ratelimit"
	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/oci"
)

// Fixture digests of the fake repositories.
var (
	imageDigest = oci.FromBytes(oci.SHA256, []byte("image"))
	indexDigest = oci.FromBytes(oci.SHA256, []byte("index"))
	sbomDigest  = oci.FromBytes(oci.SHA256, []byte("sbom"))
	layerDigest = oci.FromBytes(oci.SHA256, []byte("layer"))
	pushedAt    = time.Date(2026, 8, 1, 12, 30, 0, 0, time.UTC)
)

// hostile is a value a user can put in their records.
const hostile = `<script>alert("x")</script>`

// secretDetail stands for what an upstream error says (hosts, addresses):
// it must never reach a page.
const secretDetail = "dial tcp 10.9.8.7:443: connection refused"

// fakeRepos answers for alice.test (and her DID); down.test's PDS fails,
// broken.test fails inside the AppView, busy.test's lookup is over the
// client's rate limit, anyone else does not exist.
type fakeRepos struct{}

var aliceOwner = browse.Owner{DID: aliceDID, Handle: "alice.test", PDS: "https://pds.example"}

func (fakeRepos) owner(ident string) (browse.Owner, error) {
	switch ident {
	case "alice.test", aliceDID.String():
		return aliceOwner, nil
	case "down.test":
		return browse.Owner{}, fmt.Errorf("listRecords: %w: %s", browse.ErrUnavailable, secretDetail)
	case "broken.test":
		return browse.Owner{}, errors.New("bug: " + secretDetail)
	case "busy.test": // as browse wraps the directory's rate limit
		return browse.Owner{}, fmt.Errorf("resolve %s: %w: %w", ident, browse.ErrUnavailable, &ratelimit.LimitedError{Wait: 2500 * time.Millisecond})
	}
	return browse.Owner{}, fmt.Errorf("resolve %s: %w", ident, browse.ErrNotFound)
}

func mustName(s string) oci.Repository {
	r, err := oci.ParseRepository(s)
	if err != nil {
		panic(err)
	}
	return r
}

func (f fakeRepos) User(_ context.Context, ident string) (*browse.User, error) {
	o, err := f.owner(ident)
	if err != nil {
		return nil, err
	}
	return &browse.User{Owner: o, Repositories: []browse.RepoSummary{
		{Name: mustName("alice.test/app"), Tags: 3, Manifests: 4, LastPush: pushedAt},
		{Name: mustName("alice.test/tools/cli"), Tags: 1, Manifests: 1},
	}}, nil
}

func (f fakeRepos) Repository(_ context.Context, name oci.Repository) (*browse.Repository, error) {
	o, err := f.owner(name.Identity())
	if err != nil {
		return nil, err
	}
	return &browse.Repository{Owner: o, Name: mustName(o.Name() + "/" + name.Path()), Description: "# App\n" + hostile}, nil
}

func (f fakeRepos) Tags(_ context.Context, name oci.Repository) (*browse.TagList, error) {
	o, err := f.owner(name.Identity())
	if err != nil {
		return nil, err
	}
	if name.Path() != "app" {
		return nil, fmt.Errorf("repository %s: %w", name, browse.ErrNotFound)
	}
	image := browse.Summary{Digest: imageDigest, MediaType: oci.MediaTypeOCIManifest, Kind: browse.KindImage, Size: 1536, CreatedAt: pushedAt}
	index := browse.Summary{Digest: indexDigest, MediaType: oci.MediaTypeOCIIndex, Kind: browse.KindIndex,
		Platforms: []string{"linux/amd64", "linux/arm64/v8"}, Size: 3 << 20, CreatedAt: pushedAt}
	sbom := browse.Summary{Digest: sbomDigest, MediaType: oci.MediaTypeOCIManifest, Kind: browse.KindArtifact,
		ArtifactType: "application/spdx+json", Size: 20, CreatedAt: pushedAt}
	return &browse.TagList{Owner: o, Name: mustName(o.Name() + "/app"), Untagged: 1, Tags: []browse.Tag{
		{Name: "v1", PushedAt: pushedAt, Manifest: &image},
		{Name: "latest", PushedAt: pushedAt.Add(-time.Hour), Manifest: &index},
		{Name: "sbom", PushedAt: pushedAt.Add(-2 * time.Hour), Manifest: &sbom},
		{Name: "gone", PushedAt: pushedAt.Add(-3 * time.Hour)},
	}}, nil
}

func (f fakeRepos) Manifest(_ context.Context, name oci.Repository, d oci.Digest) (*browse.Manifest, error) {
	if _, err := f.owner(name.Identity()); err != nil {
		return nil, err
	}
	if name.Path() != "app" || d != imageDigest {
		return nil, fmt.Errorf("manifest %s: %w", d, browse.ErrNotFound)
	}
	return &browse.Manifest{
		Summary: browse.Summary{Digest: imageDigest, MediaType: oci.MediaTypeOCIManifest, Kind: browse.KindImage, Size: 1536, CreatedAt: pushedAt},
		Tags:    []string{"v1"},
		Config:  &browse.Descriptor{Digest: oci.FromBytes(oci.SHA256, []byte("config")), MediaType: oci.MediaTypeOCIConfig, Size: 512},
		Layers:  []browse.Descriptor{{Digest: layerDigest, MediaType: oci.MediaTypeOCILayerGzip, Size: 1024}},
		Annotations: []browse.Annotation{
			{Key: "org.opencontainers.image.title", Value: hostile},
			{Key: "org.opencontainers.image.source", Value: "https://example.com/src"},
			{Key: "org.opencontainers.image.url", Value: "javascript:alert(1)"},
		},
		Referrers: []browse.Summary{{Digest: sbomDigest, Kind: browse.KindArtifact, ArtifactType: "application/spdx+json", CreatedAt: pushedAt}},
	}, nil
}
