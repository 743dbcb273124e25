package storage_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// TestOwnWritesAreIndexed: a push shows in the UI index at once (manifest,
// tag, a counted push) without Jetstream, and DELETEs of a tag and of a
// manifest remove their rows.
func TestOwnWritesAreIndexed(t *testing.T) {
	env, idx, alice, repo := indexedEnv(t)

	d1, _ := pushImage(t, env, repo, "v1")
	pushImage(t, env, repo, "v2")
	tags := indexedTags(t, idx, alice, "app")
	if len(tags) != 2 || tags["v1"] != d1.String() {
		t.Fatalf("indexed tags %v, want v1 → %s and v2", tags, d1)
	}
	if err := idx.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if page, _ := idx.RepositoryPage(t.Context(), alice.DID.String(), "app"); page.Pushes != 2 {
		t.Fatalf("pushes counted %d, want 2", page.Pushes)
	}

	if err := env.Store.DeleteManifest(t.Context(), repo, oci.TagReference(mustTag(t, "v2"))); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.DeleteManifest(t.Context(), repo, oci.DigestReference(d1)); err != nil {
		t.Fatal(err)
	}
	page, err := idx.RepositoryPage(t.Context(), alice.DID.String(), "app")
	if err == nil {
		for _, tg := range page.Tags {
			t.Errorf("tag %s → %s still indexed after the deletes", tg.Tag, tg.Digest)
		}
	}
	if _, err := idx.Manifest(t.Context(), alice.DID.String(), "app", d1.String()); err == nil {
		t.Errorf("manifest %s still indexed after its DELETE", d1)
	}
}

// TestRefusedPushLeavesTheIndexAsBefore: the index rows of a push are
// written while the hold decides; when it refuses, a tag that existed
// points at its old manifest again, a new tag is gone, and so is the
// refused manifest.
func TestRefusedPushLeavesTheIndexAsBefore(t *testing.T) {
	env, idx, alice, repo := indexedEnv(t)
	d1, _ := pushImage(t, env, repo, "v1")

	env.Hold.SetNotifyError(-1, http.StatusBadRequest, atcr.ErrorQuotaExceeded, "storage quota exceeded")
	var refused []oci.Digest
	for _, tag := range []string{"v1", "v2"} { // an existing tag, a new one
		digest, err := putImage(t, env, repo, tag)
		if err == nil {
			t.Fatalf("push to %s accepted, want the hold's refusal", tag)
		}
		refused = append(refused, digest)
	}
	tags := indexedTags(t, idx, alice, "app")
	if len(tags) != 1 || tags["v1"] != d1.String() {
		t.Fatalf("indexed tags %v after the refusals, want only v1 → %s", tags, d1)
	}
	for _, digest := range refused {
		if _, err := idx.Manifest(t.Context(), alice.DID.String(), "app", digest.String()); err == nil {
			t.Errorf("refused manifest %s is indexed", digest)
		}
	}
}

// indexedTags is the tag → digest map of u's repository page in the index.
func indexedTags(t *testing.T, idx *index.Store, u storagetest.User, repo string) map[string]string {
	t.Helper()
	page, err := idx.RepositoryPage(t.Context(), u.DID.String(), repo)
	if err != nil {
		t.Fatalf("repository page %s: %v", repo, err)
	}
	tags := map[string]string{}
	for _, tg := range page.Tags {
		tags[tg.Tag] = tg.Digest
	}
	return tags
}

// indexedEnv is a test environment whose store indexes into a fresh UI
// index, with alice.test and her repository app.
func indexedEnv(t *testing.T) (*storagetest.Env, *index.Store, storagetest.User, registry.Repo) {
	t.Helper()
	d := storagetest.OpenDB(t, filepath.Join(t.TempDir(), "appview.db"))
	idx := index.New(d, index.Options{})
	t.Cleanup(func() { idx.Close(t.Context()) })
	env := storagetest.NewEnv(t, storagetest.EnvOptions{DB: d, Store: func(o *storage.Options) { o.Indexer = idx }})
	alice := env.AddUser("alice.test")
	return env, idx, alice, env.Repo(t, "alice.test/app")
}
