package storage_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// writeElsewhere records a manifest (and optionally a tag) straight into
// the PDS, as another AppView would, and returns its digest.
func writeElsewhere(t *testing.T, env *storagetest.Env, u storagetest.User, repo, rkey, tag string) oci.Digest {
	t.Helper()
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"k":"` + rkey + `"}}`)
	d := oci.FromBytes(oci.SHA256, body)
	blob := env.PDS.PutBlob(u.DID, body, oci.MediaTypeOCIIndex)
	env.PDS.PutRecord(t, u.DID, atcr.ManifestNSID, rkey, atcr.Manifest{
		Repository: repo, Digest: d.String(), MediaType: oci.MediaTypeOCIIndex, SchemaVersion: 2,
		HoldDID: storagetest.HoldDID.String(), ManifestBlob: &blob, CreatedAt: stamp,
	})
	if tag != "" {
		tg, _ := oci.ParseTag(tag)
		env.PDS.PutRecord(t, u.DID, atcr.TagNSID, pdsread.TagRecordKey(repo, tg), atcr.Tag{
			Repository: repo, Tag: tag, Manifest: "at://" + u.DID.String() + "/" + atcr.ManifestNSID + "/" + rkey, CreatedAt: stamp,
		})
	}
	return d
}

func TestRecordsWrittenElsewhereAppear(t *testing.T) {
	clk := newClock()
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.Now = clk.Now }})
	alice := env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()

	// The index is listed (empty) on first use.
	if _, err := env.Store.Tags(ctx, repo); !errors.Is(err, registry.ErrNameUnknown) {
		t.Fatalf("tags of an empty repository: %v", err)
	}
	d1 := writeElsewhere(t, env, alice, "app", "3kaaaaaaaaaa2", "v1")

	// Tags are read fresh from their record.
	m, err := env.Store.GetManifest(ctx, repo, oci.TagReference(mustTag(t, "v1")))
	if err != nil || m.Digest != d1 || m.MediaType != oci.MediaTypeOCIIndex {
		t.Fatalf("GetManifest by tag: %+v, %v", m, err)
	}
	// A digest lookup that misses reloads the index, at most every 10s.
	d2 := writeElsewhere(t, env, alice, "app", "3kaaaaaaaaab2", "")
	if _, err := env.Store.GetManifest(ctx, repo, oci.DigestReference(d2)); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Fatalf("digest found before a reload was allowed: %v", err)
	}
	clk.Advance(11 * time.Second)
	if _, err := env.Store.GetManifest(ctx, repo, oci.DigestReference(d2)); err != nil {
		t.Fatalf("digest not found after the reload: %v", err)
	}
	tags, err := env.Store.Tags(ctx, repo)
	if err != nil || len(tags) != 1 || tags[0] != "v1" {
		t.Fatalf("tags %v, %v", tags, err)
	}

	// A tag moved elsewhere is seen once the tag cache entry expires.
	tg := mustTag(t, "v1")
	env.PDS.PutRecord(t, alice.DID, atcr.TagNSID, pdsread.TagRecordKey("app", tg), atcr.Tag{
		Repository: "app", Tag: "v1", Manifest: "at://" + alice.DID.String() + "/" + atcr.ManifestNSID + "/3kaaaaaaaaab2", CreatedAt: stamp,
	})
	if m, _ := env.Store.GetManifest(ctx, repo, oci.TagReference(tg)); m == nil || m.Digest != d1 {
		t.Fatal("tag cache not used within its TTL")
	}
	clk.Advance(storage.DefaultTagTTL + time.Second)
	if m, err := env.Store.GetManifest(ctx, repo, oci.TagReference(tg)); err != nil || m.Digest != d2 {
		t.Fatalf("moved tag: %+v, %v", m, err)
	}
}

func TestManifestBytesAreVerifiedAndCached(t *testing.T) {
	clk := newClock()
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.Now = clk.Now }})
	alice := env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	d := writeElsewhere(t, env, alice, "app", "3kaaaaaaaaaa2", "v1")
	for range 3 {
		if _, err := env.Store.GetManifest(t.Context(), repo, oci.DigestReference(d)); err != nil {
			t.Fatal(err)
		}
	}
	if n := env.PDS.Calls("com.atproto.sync.getBlob"); n != 1 {
		t.Fatalf("%d blob fetches for 3 reads, want 1", n)
	}

	// A record whose blob does not hash to its digest is not served: the
	// manifest is unknown (404), not an outage to retry.
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	blob := env.PDS.PutBlob(alice.DID, body, oci.MediaTypeOCIIndex)
	liar := oci.FromBytes(oci.SHA256, []byte("not the body"))
	env.PDS.PutRecord(t, alice.DID, atcr.ManifestNSID, "3kaaaaaaaaac2", atcr.Manifest{
		Repository: "app", Digest: liar.String(), MediaType: oci.MediaTypeOCIIndex, SchemaVersion: 2, ManifestBlob: &blob, CreatedAt: stamp,
	})
	clk.Advance(time.Minute) // let the digest miss reload the index
	if _, err := env.Store.GetManifest(t.Context(), repo, oci.DigestReference(liar)); !errors.Is(err, registry.ErrManifestUnknown) || errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("GetManifest of a record whose bytes do not match: %v", err)
	}
}

func mustTag(t *testing.T, s string) oci.Tag {
	t.Helper()
	tag, err := oci.ParseTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// TestTagsListOnlyTagsThatCanResolve: tags/list leaves out the tags a pull
// would refuse on what the index holds — one naming another account's
// manifest, one naming a manifest of another repository, a deprecated
// manifestDigest no manifest of the repository has — so tools copying every
// listed tag do not fail on them (each pull is 404 either way).
func TestTagsListOnlyTagsThatCanResolve(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice, bob := env.AddUser("alice.test"), env.AddUser("bob.test")
	writeElsewhere(t, env, alice, "app", "3kaaaaaaaaaa2", "v1")
	writeElsewhere(t, env, alice, "other", "3kaaaaaaaaab2", "")
	bobs := writeElsewhere(t, env, bob, "app", "3kaaaaaaaaac2", "v1")
	tag := func(name string, rec atcr.Tag) {
		rec.Repository, rec.Tag, rec.CreatedAt = "app", name, stamp
		env.PDS.PutRecord(t, alice.DID, atcr.TagNSID, pdsread.TagRecordKey("app", mustTag(t, name)), rec)
	}
	tag("crossdid", atcr.Tag{Manifest: "at://" + bob.DID.String() + "/" + atcr.ManifestNSID + "/3kaaaaaaaaac2"})
	tag("crossrepo", atcr.Tag{Manifest: "at://" + alice.DID.String() + "/" + atcr.ManifestNSID + "/3kaaaaaaaaab2"})
	tag("legacybob", atcr.Tag{ManifestDigest: bobs.String()})
	tag("notyet", atcr.Tag{Manifest: "at://" + alice.DID.String() + "/" + atcr.ManifestNSID + "/3kaaaaaaaaad2"})
	repo := env.Repo(t, "alice.test/app")
	tags, err := env.Store.Tags(t.Context(), repo)
	if err != nil || strings.Join(tags, ",") != "notyet,v1" {
		t.Fatalf("tags %v, %v; want notyet (its manifest not listed: the pull decides) and v1", tags, err)
	}
	for _, name := range []string{"crossdid", "crossrepo", "legacybob"} {
		if _, err := env.Store.GetManifest(t.Context(), repo, oci.TagReference(mustTag(t, name))); !errors.Is(err, registry.ErrManifestUnknown) {
			t.Errorf("pull of %s: %v, want manifest unknown", name, err)
		}
	}
}
