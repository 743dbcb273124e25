package main

import (
	"context"
	"strings"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/scans"
	"atcr.io/pkg/oci"
)

// indexFirstLocator finds the hold of a manifest for the vulnerability
// badges in the index first, and in the owner's PDS listing
// (*browse.Service) otherwise. The index pages show a manifest the moment
// the AppView writes it; the PDS listing is cached and relisted at most
// every few seconds, so a badge asked for a repository pushed a moment ago
// would otherwise find nothing there and stay an error. An index manifest
// (platforms to list) always goes to the PDS listing.
type indexFirstLocator struct {
	idx  *index.Store
	dir  identity.Directory
	next scans.Manifests
}

func (l indexFirstLocator) Locate(ctx context.Context, name oci.Repository, d oci.Digest) (*browse.Located, error) {
	owner := l.ownerDID(ctx, name.Identity())
	if owner == "" {
		return l.next.Locate(ctx, name, d)
	}
	m, err := l.idx.Manifest(ctx, owner, name.Path(), d.String())
	if err != nil || len(m.Platforms) > 0 || strings.Contains(m.MediaType, "index") || strings.Contains(m.MediaType, "manifest.list") {
		return l.next.Locate(ctx, name, d)
	}
	loc := &browse.Located{Name: name, Digest: d, Kind: browse.KindImage}
	if m.ArtifactType != "" && m.ArtifactType != oci.MediaTypeOCIConfig && m.ArtifactType != oci.MediaTypeDockerConfig {
		loc.Kind = browse.KindArtifact
	}
	if hold, err := syntax.ParseDID(m.HoldDID); err == nil {
		loc.Hold = hold
	}
	return loc, nil
}

// ownerDID is the DID of a name's first component as the index knows it
// ("" when it does not).
func (l indexFirstLocator) ownerDID(ctx context.Context, ident string) string {
	u, err := l.idx.OwnerByName(ctx, l.dir, ident)
	if err != nil {
		return ""
	}
	return u.DID.String()
}
