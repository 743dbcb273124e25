package storage_test

import (
	"context"
	"slices"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/storage/storagetest"
)

// TestPushHeadReachesTheHold: a push's HEAD of a blob is always asked of
// the hold, as the owner (the hold counts it as a reference that keeps
// garbage collection off the blob), never answered from the stat cache.
func TestPushHeadReachesTheHold(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice := env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	d := storagetest.Upload(t, env.Store, repo, storagetest.RandomBytes(300), 1000)
	asAlice := access.WithGrant(t.Context(), &access.Grant{Subject: alice.DID})
	before := len(env.Hold.BlobReaders())
	for range 3 {
		if _, err := env.Store.StatBlob(asAlice, repo, d, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Store.MountBlob(asAlice, repo, d, nil); err != nil {
		t.Fatal(err)
	}
	readers := env.Hold.BlobReaders()[before:]
	if len(readers) != 4 || slices.ContainsFunc(readers, func(c syntax.DID) bool { return c != alice.DID }) {
		t.Fatalf("push HEADs and a mount reached the hold as %v, want 4 calls as %s", readers, alice.DID)
	}
}

// TestPullsAskAnonymouslyFirst: a pull does not hand the puller's identity
// (a service token) to a public hold the image's owner chose; a private
// hold that refuses the anonymous read gets the token, and is asked with it
// straight away next time.
func TestPullsAskAnonymouslyFirst(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	env.AddUser("alice.test")
	bob := env.AddUser("bob.test")
	repo := env.Repo(t, "alice.test/app")
	d := storagetest.Upload(t, env.Store, repo, storagetest.RandomBytes(300), 1000)
	asBob := access.WithGrant(t.Context(), &access.Grant{Subject: bob.DID})

	before := len(env.Hold.BlobReaders())
	if _, err := env.Store.BlobURL(asBob, repo, d); err != nil {
		t.Fatal(err)
	}
	if got := env.Hold.BlobReaders()[before:]; !slices.Equal(got, []syntax.DID{""}) {
		t.Fatalf("a pull from a public hold asked as %v, want one anonymous call", got)
	}

	other := storagetest.Upload(t, env.Store, repo, storagetest.RandomBytes(300), 1000)
	env.Hold.SetPrivate(true)
	before = len(env.Hold.BlobReaders())
	if _, err := env.Store.BlobURL(asBob, repo, other); err != nil {
		t.Fatalf("pull from a private hold: %v", err)
	}
	if got := env.Hold.BlobReaders()[before:]; !slices.Equal(got, []syntax.DID{"", bob.DID}) {
		t.Fatalf("a pull from a private hold asked as %v, want anonymous, then as bob", got)
	}
	third := storagetest.Upload(t, env.Store, repo, storagetest.RandomBytes(300), 1000)
	before = len(env.Hold.BlobReaders())
	if _, err := env.Store.StatBlob(asBob, repo, third, false); err != nil {
		t.Fatal(err)
	}
	if got := env.Hold.BlobReaders()[before:]; !slices.Equal(got, []syntax.DID{bob.DID}) {
		t.Fatalf("the next pull from the private hold asked as %v, want bob at once", got)
	}
	if _, err := env.Store.BlobURL(context.Background(), repo, third); err == nil {
		t.Fatal("an anonymous pull from a private hold succeeded")
	}
}
