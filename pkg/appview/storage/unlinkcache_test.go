package storage_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/redistest"
	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/oci"
)

// countedTombstones counts the reads of a Tombstones.
type countedTombstones struct {
	storage.Tombstones
	reads atomic.Int64
}

func (c *countedTombstones) BlobTombstones(ctx context.Context, did syntax.DID, repository string, digests ...string) ([]string, error) {
	c.reads.Add(1)
	return c.Tombstones.BlobTombstones(ctx, did, repository, digests...)
}

// counting makes a store read its tombstones through c.
func counting(c *countedTombstones) func(*storage.Options) {
	return func(o *storage.Options) {
		c.Tombstones = o.Tombstones
		o.Tombstones = c
	}
}

// pullBlob stats the blob and takes its URL, as a pull does.
func pullBlob(ctx context.Context, s *storage.Store, repo registry.Repo, d oci.Digest) error {
	if _, err := s.StatBlob(ctx, repo, d, false); err != nil {
		return err
	}
	_, err := s.BlobURL(ctx, repo, d)
	return err
}

// TestUnlinkAnswersAreCached: pulls of a blob read its unlink state from
// the database once; the store's own unlink and mount update the answer
// without another read, and a concurrent pull cannot bring back an answer
// read before them.
func TestUnlinkAnswersAreCached(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice := env.AddUser("alice.test")
	asAlice := access.WithGrant(t.Context(), &access.Grant{Subject: alice.DID})
	reads := &countedTombstones{}
	store := env.NewStore(t, env.DB, counting(reads))
	repo := env.Repo(t, "alice.test/app")
	d := storagetest.Upload(t, env.Store, repo, storagetest.RandomBytes(300), 1000)

	for range 5 {
		if err := pullBlob(t.Context(), store, repo, d); err != nil {
			t.Fatal(err)
		}
	}
	if got := reads.reads.Load(); got != 1 {
		t.Fatalf("%d database reads for five pulls, want 1", got)
	}
	if err := store.DeleteBlob(asAlice, repo, d); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := pullBlob(t.Context(), store, repo, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("pull after the delete: %v, want ErrBlobUnknown", err)
	}
	if err := store.MountBlob(asAlice, repo, d, nil); err != nil {
		t.Fatalf("mount: %v", err)
	}
	if err := pullBlob(t.Context(), store, repo, d); err != nil {
		t.Fatalf("pull after the mount: %v", err)
	}
	// The delete's own check and the mount's relink were answered by the
	// cache, which the delete had updated.
	if got := reads.reads.Load(); got != 1 {
		t.Fatalf("%d database reads in all, want 1 (the store's own writes need no read)", got)
	}
}

// TestUnlinkThroughOneAppViewIsSeenByAnother: with Redis, B's cached
// answer gives way at once to A's unlink and to A's mount that links the
// blob back, each with one read of the database; B's next pulls read
// nothing.
func TestUnlinkThroughOneAppViewIsSeenByAnother(t *testing.T) {
	url := redistest.URL(t)
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: onRedis(t, url)})
	alice := env.AddUser("alice.test")
	asAlice := access.WithGrant(t.Context(), &access.Grant{Subject: alice.DID})
	repo := env.Repo(t, "alice.test/app")
	d := storagetest.Upload(t, env.Store, repo, storagetest.RandomBytes(300), 1000)
	reads := &countedTombstones{}
	b := env.NewStore(t, env.DB, func(o *storage.Options) {
		onRedis(t, url)(o)
		counting(reads)(o)
	})

	pulls := func(want error) {
		t.Helper()
		before := reads.reads.Load()
		for range 3 {
			if err := pullBlob(t.Context(), b, repo, d); !errors.Is(err, want) {
				t.Fatalf("pull through B: %v, want %v", err, want)
			}
		}
		if got := reads.reads.Load() - before; got != 1 {
			t.Fatalf("B read the database %d times for three pulls, want 1", got)
		}
	}
	pulls(nil)
	if err := env.Store.DeleteBlob(asAlice, repo, d); err != nil {
		t.Fatalf("delete through A: %v", err)
	}
	pulls(registry.ErrBlobUnknown)
	if err := env.Store.MountBlob(asAlice, repo, d, nil); err != nil {
		t.Fatalf("mount through A: %v", err)
	}
	pulls(nil)
}

// TestUnlinkWithoutRedisIsSeenAfterTagTTL: AppViews sharing a database
// without Redis see each other's unlinks as late as moved tags, once
// their cached answers are TagTTL old.
func TestUnlinkWithoutRedisIsSeenAfterTagTTL(t *testing.T) {
	clk := newClock()
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.Now = clk.Now }})
	alice := env.AddUser("alice.test")
	asAlice := access.WithGrant(t.Context(), &access.Grant{Subject: alice.DID})
	repo := env.Repo(t, "alice.test/app")
	d := storagetest.Upload(t, env.Store, repo, storagetest.RandomBytes(300), 1000)
	b := env.NewStore(t, env.DB, func(o *storage.Options) { o.Now = clk.Now })
	if err := pullBlob(t.Context(), b, repo, d); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.DeleteBlob(asAlice, repo, d); err != nil {
		t.Fatalf("delete through A: %v", err)
	}
	if err := pullBlob(t.Context(), b, repo, d); err != nil {
		t.Fatalf("pull through B within TagTTL: %v, want the cached answer", err)
	}
	clk.Advance(storage.DefaultTagTTL + 1)
	if err := pullBlob(t.Context(), b, repo, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("pull through B after TagTTL: %v, want ErrBlobUnknown", err)
	}
}
