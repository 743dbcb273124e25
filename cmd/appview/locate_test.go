package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// nextLocator records that the PDS listing was asked.
type nextLocator struct{ asked int }

func (n *nextLocator) Locate(context.Context, oci.Repository, oci.Digest) (*browse.Located, error) {
	n.asked++
	return nil, errors.New("not in the listing")
}

// The badges find a manifest the index has (by DID, by an indexed
// handle, by a handle only the directory knows) without the PDS listing;
// an artifact keeps its kind; an unknown manifest and an index manifest go
// to the listing.
func TestIndexFirstLocator(t *testing.T) {
	ctx := context.Background()
	database, err := db.Open(ctx, filepath.Join(t.TempDir(), dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close()
	idx := index.New(database, index.Options{})
	defer idx.Close(ctx)
	const alice, hold = "did:plc:alice2222222222222222222", "did:web:hold.example.com"
	digest := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
	put := func(rkey string, m *atcr.Manifest) {
		t.Helper()
		v, err := atcr.ToMap(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Put(ctx, index.Record{DID: alice, Collection: atcr.ManifestNSID, RKey: rkey, CID: "bafyreib" + rkey, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	manifest := func(d, artifactType, mediaType string) *atcr.Manifest {
		return &atcr.Manifest{Repository: "app", Digest: d, MediaType: mediaType, ArtifactType: artifactType, SchemaVersion: 2,
			CreatedAt: "2026-12-01T00:00:00Z", HoldDID: hold,
			Config: &atcr.Manifest_BlobReference{Digest: digest('c'), MediaType: artifactType, Size: 10}}
	}
	put("3kaaaaaaaaaa2", manifest(digest('a'), oci.MediaTypeOCIConfig, "application/vnd.oci.image.manifest.v1+json"))
	put("3kaaaaaaaaab2", manifest(digest('b'), "application/vnd.cncf.helm.config.v1+json", "application/vnd.oci.image.manifest.v1+json"))
	dir := identity.NewMockDirectory()
	dir.Insert(identity.Identity{DID: syntax.DID(alice), Handle: "alice.test"})
	next := &nextLocator{}
	l := indexFirstLocator{idx: idx, dir: dir, next: next}

	for _, c := range []struct {
		name, d string
		kind    browse.Kind
	}{
		{alice + "/app", digest('a'), browse.KindImage},
		{"alice.test/app", digest('b'), browse.KindArtifact}, // the directory knows the handle
	} {
		loc, err := l.Locate(ctx, repoName(t, c.name), digestOf(t, c.d))
		if err != nil || loc.Hold != hold || loc.Kind != c.kind {
			t.Errorf("%s %s: %+v %v, want hold %s kind %s", c.name, c.d, loc, err, hold, c.kind)
		}
	}
	if next.asked != 0 {
		t.Errorf("the PDS listing was asked %d times for indexed manifests", next.asked)
	}
	if _, err := l.Locate(ctx, repoName(t, alice+"/app"), digestOf(t, digest('e'))); err == nil || next.asked != 1 {
		t.Errorf("an unknown manifest: err %v, listing asked %d", err, next.asked)
	}
	if _, err := l.Locate(ctx, repoName(t, "nobody.test/app"), digestOf(t, digest('a'))); err == nil || next.asked != 2 {
		t.Errorf("an unknown owner: err %v, listing asked %d", err, next.asked)
	}
}

func repoName(t *testing.T, s string) oci.Repository {
	t.Helper()
	r, err := oci.ParseRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func digestOf(t *testing.T, s string) oci.Digest {
	t.Helper()
	d, err := oci.ParseDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
