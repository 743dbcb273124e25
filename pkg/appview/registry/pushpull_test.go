package registry_test

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
)

func TestPushPullImage(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	img, err := random.Image(2048, 4)
	if err != nil {
		t.Fatal(err)
	}
	ref := env.ref(t, "alice.test/web/frontend:v1")
	if err := remote.Write(ref, img, as(env.alice)); err != nil {
		t.Fatalf("push: %v", err)
	}

	// Pulled anonymously, like any public image.
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("pulled %s, pushed %s", d, want)
	}
	// Download config and every layer (307 → presigned URL on the fake
	// hold's S3) and compare with what was pushed.
	sameImage(t, img, got)
	rawPushed, _ := img.RawManifest()
	rawPulled, _ := got.RawManifest()
	if string(rawPushed) != string(rawPulled) {
		t.Fatal("pulled manifest bytes differ from the pushed ones")
	}

	// The records: one manifest record with the hold, one tag record.
	manifests := env.PDS.Records(env.alice.DID, atcr.ManifestNSID)
	if len(manifests) != 1 {
		t.Fatalf("%d manifest records, want 1", len(manifests))
	}
	for _, m := range manifests {
		if m["holdDid"] != string(storagetest.HoldDID) || m["repository"] != "web/frontend" || m["digest"] != want.String() {
			t.Fatalf("manifest record %v", m)
		}
	}
	tags := env.PDS.Records(env.alice.DID, atcr.TagNSID)
	if _, ok := tags["web~frontend:v1"]; !ok || len(tags) != 1 {
		t.Fatalf("tag records %v, want key web~frontend:v1", tags)
	}
	if n := env.Hold.Notified(); len(n) != 1 || n[0].Tag != "v1" || len(n[0].Layers) != 4 {
		t.Fatalf("notifyManifest calls %+v", n)
	}

	// A second push of the same image records nothing new.
	if err := remote.Write(env.ref(t, "alice.test/web/frontend:v2"), img, as(env.alice)); err != nil {
		t.Fatalf("re-push: %v", err)
	}
	if n := len(env.PDS.Records(env.alice.DID, atcr.ManifestNSID)); n != 1 {
		t.Fatalf("%d manifest records after re-push, want 1", n)
	}
	list, err := remote.List(ref.Context())
	if err != nil || !slices.Equal(list, []string{"v1", "v2"}) {
		t.Fatalf("tags %v, %v", list, err)
	}
}

// sameImage downloads every blob of pulled and compares it with pushed.
func sameImage(t *testing.T, pushed, pulled v1.Image) {
	t.Helper()
	wantCfg, _ := pushed.RawConfigFile()
	gotCfg, err := pulled.RawConfigFile()
	if err != nil || string(gotCfg) != string(wantCfg) {
		t.Fatalf("config differs (%v)", err)
	}
	wantLayers, _ := pushed.Layers()
	gotLayers, err := pulled.Layers()
	if err != nil || len(gotLayers) != len(wantLayers) {
		t.Fatalf("%d layers pulled, %d pushed (%v)", len(gotLayers), len(wantLayers), err)
	}
	for i, l := range gotLayers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		want, _ := wantLayers[i].Digest()
		if err != nil || mustHash(t, data) != want {
			t.Fatalf("layer %d: content does not hash to %s (%v)", i, want, err)
		}
	}
}

func mustHash(t *testing.T, data []byte) v1.Hash {
	t.Helper()
	h, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPushPullIndex(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	idx, err := random.Index(1024, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref := env.ref(t, "alice.test/multi:latest")
	if err := remote.WriteIndex(ref, idx, as(env.alice)); err != nil {
		t.Fatalf("push index: %v", err)
	}
	got, err := remote.Index(ref)
	if err != nil {
		t.Fatalf("pull index: %v", err)
	}
	want, _ := idx.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("pulled %s, pushed %s", d, want)
	}
	im, _ := idx.IndexManifest()
	for _, child := range im.Manifests {
		pushed, _ := idx.Image(child.Digest)
		pulled, err := got.Image(child.Digest)
		if err != nil {
			t.Fatalf("pull child %s: %v", child.Digest, err)
		}
		sameImage(t, pushed, pulled)
	}
	// Children are stored untagged; the index record lists them.
	if n := len(env.PDS.Records(env.alice.DID, atcr.ManifestNSID)); n != 4 {
		t.Fatalf("%d manifest records, want 3 children + 1 index", n)
	}
	if n := len(env.PDS.Records(env.alice.DID, atcr.TagNSID)); n != 1 {
		t.Fatalf("%d tag records, want 1", n)
	}
}

func TestReferrers(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	img, _ := random.Image(512, 1)
	subjectRef := env.ref(t, "alice.test/app:v1")
	if err := remote.Write(subjectRef, img, as(env.alice)); err != nil {
		t.Fatalf("push subject: %v", err)
	}
	subjectDesc, err := remote.Head(subjectRef)
	if err != nil {
		t.Fatal(err)
	}
	subjectDigest := subjectRef.Context().Digest(subjectDesc.Digest.String())

	for _, at := range []string{"application/vnd.example.sbom", "application/vnd.example.sig"} {
		art := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.MediaType(at))
		art = mutate.Annotations(art, map[string]string{"kind": at}).(v1.Image)
		art = mutate.Subject(art, *subjectDesc).(v1.Image)
		d, _ := art.Digest()
		if err := remote.Write(subjectRef.Context().Digest(d.String()), art, as(env.alice)); err != nil {
			t.Fatalf("push referrer %s: %v", at, err)
		}
	}

	idx, err := remote.Referrers(subjectDigest)
	if err != nil {
		t.Fatalf("referrers: %v", err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 {
		t.Fatalf("%d referrers, want 2: %+v", len(im.Manifests), im.Manifests)
	}
	for _, m := range im.Manifests {
		if m.Annotations["kind"] != m.ArtifactType || m.MediaType != types.OCIManifestSchema1 || m.Size == 0 {
			t.Fatalf("referrer descriptor %+v", m)
		}
	}
	filtered, err := remote.Referrers(subjectDigest, remote.WithFilter("artifactType", "application/vnd.example.sig"))
	if err != nil {
		t.Fatal(err)
	}
	fm, _ := filtered.IndexManifest()
	if len(fm.Manifests) != 1 || fm.Manifests[0].ArtifactType != "application/vnd.example.sig" {
		t.Fatalf("filtered referrers %+v", fm.Manifests)
	}

	// A digest nothing refers to: an empty index, not 404.
	other := subjectRef.Context().Digest("sha256:" + strings.Repeat("0", 64))
	none, err := remote.Referrers(other)
	if err != nil {
		t.Fatalf("referrers of an unknown digest: %v", err)
	}
	if nm, _ := none.IndexManifest(); len(nm.Manifests) != 0 {
		t.Fatalf("unexpected referrers %+v", nm.Manifests)
	}
}

func TestCatalogListsSeenRepositories(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	for _, r := range []string{"alice.test/b:1", "alice.test/a:1", "bob.test/c:1"} {
		img, _ := random.Image(64, 1)
		owner := env.alice
		if r[0] == 'b' {
			owner = env.bob
		}
		if err := remote.Write(env.ref(t, r), img, as(owner)); err != nil {
			t.Fatalf("push %s: %v", r, err)
		}
	}
	reg, _ := name.NewRegistry(env.host, name.Insecure)
	repos, err := remote.Catalog(t.Context(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(repos, []string{"alice.test/a", "alice.test/b", "bob.test/c"}) {
		t.Fatalf("catalog %v", repos)
	}
}

// TestCatalogDoesNotTellWhoPulls: the catalog names repositories pushed
// through this AppView; one that was only pulled (its owner pushed
// elsewhere) is not listed, so the catalog does not tell who looks at what.
func TestCatalogDoesNotTellWhoPulls(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	img, _ := random.Image(64, 1)
	if err := remote.Write(env.ref(t, "bob.test/secret:1"), img, as(env.bob)); err != nil {
		t.Fatal(err)
	}
	// Another AppView over the same PDS and hold, which bob never used.
	other := newTestEnvOver(t, env)
	if _, err := remote.Image(other.ref(t, "bob.test/secret:1")); err != nil {
		t.Fatalf("pull through the other AppView: %v", err)
	}
	reg, _ := name.NewRegistry(other.host, name.Insecure)
	repos, err := remote.Catalog(t.Context(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 0 {
		t.Fatalf("the catalog of an AppView bob only pulled through lists %v", repos)
	}
}

func TestTagRecordKeyRoundTrip(t *testing.T) {
	// Documented in docs/registry.md: "/" → "~", then ":" + tag.
	env := newTestEnv(t, storagetest.EnvOptions{})
	img, _ := random.Image(64, 1)
	if err := remote.Write(env.ref(t, "alice.test/a/b-c/d_e:Tag_1.0-x"), img, as(env.alice)); err != nil {
		t.Fatal(err)
	}
	for rkey := range env.PDS.Records(env.alice.DID, atcr.TagNSID) {
		if rkey != "a~b-c~d_e:Tag_1.0-x" {
			t.Fatalf("tag record key %q, want a~b-c~d_e:Tag_1.0-x", rkey)
		}
	}
}
