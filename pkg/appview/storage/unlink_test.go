package storage_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/oci"
)

// TestUnlinkSurvivesRestart: an unlink is in the AppView database, so a
// Store started again on the same file still answers 404 for the blob in
// that repository (and only there); an upload into it on the new Store
// links it back, durably too.
func TestUnlinkSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "appview.db")
	env := storagetest.NewEnv(t, storagetest.EnvOptions{DB: storagetest.OpenDB(t, path)})
	alice := env.AddUser("alice.test")
	ctx := access.WithGrant(t.Context(), &access.Grant{Subject: alice.DID})
	app, other := env.Repo(t, "alice.test/app"), env.Repo(t, "alice.test/other")
	data := storagetest.RandomBytes(600)
	d := storagetest.Upload(t, env.Store, app, data, 1000)
	storagetest.Upload(t, env.Store, other, data, 1000)
	if err := env.Store.DeleteBlob(ctx, app, d); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := env.DB.Close(); err != nil {
		t.Fatal(err)
	}

	restarted := env.NewStore(t, storagetest.OpenDB(t, path), nil)
	if _, err := restarted.StatBlob(ctx, app, d, true); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("stat after restart: %v, want ErrBlobUnknown", err)
	}
	if _, err := restarted.BlobURL(ctx, app, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("URL after restart: %v, want ErrBlobUnknown", err)
	}
	if n, err := restarted.StatBlob(ctx, other, d, false); err != nil || n != int64(len(data)) {
		t.Fatalf("the other repository after restart: %d, %v", n, err)
	}

	storagetest.Upload(t, restarted, app, data, 1000)
	again := env.NewStore(t, storagetest.OpenDB(t, path), nil)
	if n, err := again.StatBlob(ctx, app, d, true); err != nil || n != int64(len(data)) {
		t.Fatalf("stat after re-upload and restart: %d, %v", n, err)
	}
}

// TestUnlinkIsCheckedBeforeCaches: with the blob's size and URL cached
// and the hold down, an unlinked blob is ErrBlobUnknown (the tombstone
// answers, not a cache or the hold); the delete also dropped the cached
// answers, so once linked again the hold is asked afresh.
func TestUnlinkIsCheckedBeforeCaches(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice := env.AddUser("alice.test")
	asAlice := access.WithGrant(t.Context(), &access.Grant{Subject: alice.DID})
	anon := context.Background()
	repo := env.Repo(t, "alice.test/app")
	d := storagetest.Upload(t, env.Store, repo, storagetest.RandomBytes(300), 1000)
	for _, ctx := range []context.Context{asAlice, anon} {
		if _, err := env.Store.StatBlob(ctx, repo, d, false); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Store.BlobURL(ctx, repo, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Store.DeleteBlob(asAlice, repo, d); err != nil {
		t.Fatalf("delete: %v", err)
	}

	env.Hold.SetDown(true)
	for _, ctx := range []context.Context{asAlice, anon} {
		if _, err := env.Store.StatBlob(ctx, repo, d, false); !errors.Is(err, registry.ErrBlobUnknown) {
			t.Fatalf("stat of an unlinked blob, hold down: %v", err)
		}
		if _, err := env.Store.BlobURL(ctx, repo, d); !errors.Is(err, registry.ErrBlobUnknown) {
			t.Fatalf("URL of an unlinked blob, hold down: %v", err)
		}
	}
	env.Hold.SetDown(false)

	// Linked again by a mount (how a blob comes back): the unlink's
	// cached answer goes with it, and nothing cached answers for the hold.
	if err := env.Store.MountBlob(asAlice, repo, d, nil); err != nil {
		t.Fatalf("mount: %v", err)
	}
	// Pulls read a public hold anonymously, so alice's answers are the
	// anonymous ones too: the first pull asks afresh, the second reuses it.
	for i, ctx := range []context.Context{asAlice, anon} {
		before := env.Hold.Calls("com.atproto.sync.getBlob")
		if _, err := env.Store.StatBlob(ctx, repo, d, false); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Store.BlobURL(ctx, repo, d); err != nil {
			t.Fatal(err)
		}
		if got, want := env.Hold.Calls("com.atproto.sync.getBlob")-before, []int{2, 0}[i]; got != want {
			t.Fatalf("pull %d: %d hold calls after the unlink, want %d (stat and URL no longer cached)", i, got, want)
		}
	}
}

// TestDeleteBlobTheRepositoryDoesNotHave: a digest no hold of the
// repository has is ErrBlobUnknown and records nothing.
func TestDeleteBlobTheRepositoryDoesNotHave(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice := env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	d := oci.FromBytes(oci.SHA256, []byte("never uploaded"))
	ctx := access.WithGrant(t.Context(), &access.Grant{Subject: alice.DID})
	if err := env.Store.DeleteBlob(ctx, repo, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("delete: %v, want ErrBlobUnknown", err)
	}
	if got, err := env.DB.BlobTombstones(t.Context(), alice.DID, repo.Path(), d.String()); err != nil || len(got) != 0 {
		t.Fatalf("tombstones %v, %v; want none", got, err)
	}
}

// TestTombstoneFailureFailsClosed: when the tombstones cannot be read, a
// blob whose unlink state is not cached is neither served from another
// cache nor reported unknown: the request fails (500), an upload of a
// blob not known to be linked does not report success, and a delete
// fails without recording anything.
func TestTombstoneFailureFailsClosed(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	env.AddUser("alice.test")
	repo, other := env.Repo(t, "alice.test/app"), env.Repo(t, "alice.test/other")
	data := storagetest.RandomBytes(200)
	d := storagetest.Upload(t, env.Store, repo, data, 1000)
	if _, err := env.Store.StatBlob(t.Context(), repo, d, true); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.Close(); err != nil {
		t.Fatal(err)
	}
	// The hold has the blob and the stat is cached, but whether it is
	// unlinked from other was never read.
	if _, err := env.Store.StatBlob(t.Context(), other, d, false); err == nil || errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("stat with the database closed: %v, want a server error", err)
	}
	if _, err := env.Store.BlobURL(t.Context(), other, d); err == nil || errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("URL with the database closed: %v, want a server error", err)
	}
	if err := env.Store.DeleteBlob(t.Context(), repo, d); err == nil || errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("delete with the database closed: %v, want a server error", err)
	}
	fresh := storagetest.RandomBytes(300)
	up, err := env.Store.StartUpload(t.Context(), repo, oci.Digest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.WriteUpload(t.Context(), repo, up.ID, storagetest.Streamed(0, fresh)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.FinishUpload(t.Context(), repo, up.ID, oci.FromBytes(oci.SHA256, fresh)); err == nil {
		t.Fatal("upload reported success without recording the link")
	}
}
