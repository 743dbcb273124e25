package storage_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"atcr.io/internal/redistest"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/oci"
)

// twoAppViewsOnRedis is an env whose store (AppView A) and a second store
// (AppView B) share one PDS, hold, database and Redis, each through its
// own Redis client.
func twoAppViewsOnRedis(t *testing.T) (env *storagetest.Env, b *storage.Store) {
	t.Helper()
	withRedis := onRedis(t, redistest.URL(t))
	env = storagetest.NewEnv(t, storagetest.EnvOptions{Store: withRedis})
	return env, env.NewStore(t, env.DB, withRedis)
}

// onRedis gives each store it adjusts its own client of the Redis at url.
func onRedis(t *testing.T, url string) func(*storage.Options) {
	return func(o *storage.Options) {
		opt, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { _ = c.Close() })
		o.Redis = c
	}
}

// TestPushThroughOneAppViewIsSeenByAnother: right after a push through A,
// B resolves the tag and the digest, lists the tag, and sees the tag moved
// by the next push through A, with nothing waited for. B had listed the
// repository (empty) and cached the tag before, which without Redis keeps
// the digest unknown for minIndexRefresh and the old tag for TagTTL.
func TestPushThroughOneAppViewIsSeenByAnother(t *testing.T) {
	env, b := twoAppViewsOnRedis(t)
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	v1 := oci.TagReference(mustTag(t, "v1"))

	if _, err := b.Tags(ctx, repo); err == nil {
		t.Fatal("B lists tags of a repository nobody pushed")
	}
	d1, _ := pushImage(t, env, repo, "v1")
	if m, err := b.GetManifest(ctx, repo, v1); err != nil || m.Digest != d1 {
		t.Fatalf("B by tag after the push through A: %s, %v", digestOf(m), err)
	}
	if m, err := b.GetManifest(ctx, repo, oci.DigestReference(d1)); err != nil || m.Digest != d1 {
		t.Fatalf("B by digest after the push through A: %s, %v", digestOf(m), err)
	}
	if tags, err := b.Tags(ctx, repo); err != nil || !slices.Equal(tags, []string{"v1"}) {
		t.Fatalf("B's tags after the push through A: %v, %v", tags, err)
	}

	d2, _ := pushImage(t, env, repo, "v1") // moves v1
	if d2 == d1 {
		t.Fatal("the second image has the first one's digest")
	}
	if m, err := b.GetManifest(ctx, repo, v1); err != nil || m.Digest != d2 {
		t.Fatalf("B by tag after A moved it: %s, %v (old digest %s)", digestOf(m), err, d1)
	}
	if m, err := b.GetManifest(ctx, repo, oci.DigestReference(d2)); err != nil || m.Digest != d2 {
		t.Fatalf("B by the new digest: %s, %v", digestOf(m), err)
	}
	// A's own answers stay right: its writes updated its index and tag cache.
	if m, err := env.Store.GetManifest(ctx, repo, v1); err != nil || m.Digest != d2 {
		t.Fatalf("A by tag after moving it: %s, %v", digestOf(m), err)
	}
}

// TestTagDeletedThroughOneAppViewIsGoneFromAnother: a tag deleted through
// A is unknown to B at once, though B had it cached.
func TestTagDeletedThroughOneAppViewIsGoneFromAnother(t *testing.T) {
	env, b := twoAppViewsOnRedis(t)
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	v1 := oci.TagReference(mustTag(t, "v1"))

	pushImage(t, env, repo, "v1")
	if _, err := b.GetManifest(ctx, repo, v1); err != nil {
		t.Fatalf("B by tag: %v", err)
	}
	if err := env.Store.DeleteManifest(ctx, repo, v1); err != nil {
		t.Fatalf("delete the tag through A: %v", err)
	}
	if m, err := b.GetManifest(ctx, repo, v1); err == nil {
		t.Fatalf("B still answers the deleted tag with %s", m.Digest)
	} else if !errors.Is(err, registry.ErrManifestUnknown) {
		t.Fatalf("B by deleted tag: %v", err)
	}
}

// digestOf is m's digest, for failure messages ("" for nil).
func digestOf(m *registry.Manifest) string {
	if m == nil {
		return ""
	}
	return m.Digest.String()
}

// TestPushThroughOneAppViewIsAppliedByAnother: B, whose index of the
// account is loaded, applies A's writes as A announces them: after A's
// pushes B answers the new digests, the moved tag and the tag list without
// listing the account again or reading the tag from the PDS.
func TestPushThroughOneAppViewIsAppliedByAnother(t *testing.T) {
	env, b := twoAppViewsOnRedis(t)
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	v1 := oci.TagReference(mustTag(t, "v1"))
	did := repo.Owner.DID

	d1, _ := pushImage(t, env, repo, "v1")
	if m, err := b.GetManifest(ctx, repo, v1); err != nil || m.Digest != d1 {
		t.Fatalf("B by tag: %s, %v", digestOf(m), err)
	}
	if _, err := b.Tags(ctx, repo); err != nil { // loads B's index
		t.Fatal(err)
	}
	// waitApplied waits until B's index is current with A's (A's writes
	// reach B through Redis pub/sub, asynchronously).
	waitApplied := func() {
		t.Helper()
		want, ok := env.Store.LoadedIndexVersion(did)
		if !ok {
			t.Fatal("A has no index loaded")
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, ok := b.LoadedIndexVersion(did)
			if !ok {
				t.Fatal("B dropped its index instead of applying A's writes")
			}
			if got >= want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("B's index stayed at version %d, A's is at %d", got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitApplied()
	lists, reads := env.PDS.Calls("com.atproto.repo.listRecords"), env.PDS.Calls("com.atproto.repo.getRecord")

	d2, _ := pushImage(t, env, repo, "v1") // moves v1
	d3, _ := pushImage(t, env, repo, "v3")
	waitApplied()
	readsByPushes := env.PDS.Calls("com.atproto.repo.getRecord") - reads
	if m, err := b.GetManifest(ctx, repo, v1); err != nil || m.Digest != d2 {
		t.Fatalf("B by the moved tag: %s, %v (old digest %s)", digestOf(m), err, d1)
	}
	for _, d := range []oci.Digest{d1, d2, d3} {
		if m, err := b.GetManifest(ctx, repo, oci.DigestReference(d)); err != nil || m.Digest != d {
			t.Fatalf("B by digest %s: %s, %v", d, digestOf(m), err)
		}
	}
	if tags, err := b.Tags(ctx, repo); err != nil || !slices.Equal(tags, []string{"v1", "v3"}) {
		t.Fatalf("B's tags: %v, %v", tags, err)
	}
	if n := env.PDS.Calls("com.atproto.repo.listRecords") - lists; n != 0 {
		t.Errorf("B listed the account %d more times", n)
	}
	if n := env.PDS.Calls("com.atproto.repo.getRecord") - reads - readsByPushes; n != 0 {
		t.Errorf("B read %d records from the PDS to answer", n)
	}
}

// TestTagMovedAfterRedisLostItsState: Redis restarted empty (it keeps no
// persistence) while B had a tag cached under a high version; a tag moved
// and another deleted through A right after are seen by B at once, not
// when B's cached answers expire.
func TestTagMovedAfterRedisLostItsState(t *testing.T) {
	url := redistest.URL(t)
	withRedis := onRedis(t, url)
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: withRedis})
	b := env.NewStore(t, env.DB, withRedis)
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	ctx := t.Context()
	v1, v2 := oci.TagReference(mustTag(t, "v1")), oci.TagReference(mustTag(t, "v2"))

	for range 3 { // several writes: the version is well past 1
		pushImage(t, env, repo, "v1")
	}
	d1, _ := pushImage(t, env, repo, "v1")
	pushImage(t, env, repo, "v2")
	for _, ref := range []oci.Reference{v1, v2} {
		if _, err := b.GetManifest(ctx, repo, ref); err != nil { // cached by B
			t.Fatal(err)
		}
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	flusher := redis.NewClient(opt)
	defer flusher.Close()
	if err := flusher.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	d2, _ := pushImage(t, env, repo, "v1") // moves v1
	if m, err := b.GetManifest(ctx, repo, v1); err != nil || m.Digest != d2 {
		t.Fatalf("B by tag after A moved it past a Redis restart: %s, %v (old digest %s)", digestOf(m), err, d1)
	}
	if err := env.Store.DeleteManifest(ctx, repo, v2); err != nil {
		t.Fatal(err)
	}
	if m, err := b.GetManifest(ctx, repo, v2); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Fatalf("B by a tag A deleted past a Redis restart: %s, %v", digestOf(m), err)
	}
}
