package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

const applyWritesNSID = "com.atproto.repo.applyWrites"

// imagePut uploads a config and one layer of fresh random bytes into repo
// and returns the put of an image manifest of them under tag.
func imagePut(t *testing.T, env *storagetest.Env, repo registry.Repo, tag string) registry.ManifestPut {
	t.Helper()
	config, layer := storagetest.RandomBytes(200), storagetest.RandomBytes(3000)
	cd, ld := storagetest.Upload(t, env.Store, repo, config, 1000), storagetest.Upload(t, env.Store, repo, layer, 1000)
	body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}]}`,
		oci.MediaTypeOCIManifest, cd, len(config), ld, len(layer))
	m, err := oci.ParseManifest(oci.MediaTypeOCIManifest, body)
	if err != nil {
		t.Fatal(err)
	}
	return registry.ManifestPut{Tags: []oci.Tag{mustTag(t, tag)}, Digest: m.Digest(), Manifest: m, Body: body}
}

// imagePuts returns a fresh image's put for each tag, by tag.
func imagePuts(t *testing.T, env *storagetest.Env, repo registry.Repo, tags ...string) map[string]registry.ManifestPut {
	t.Helper()
	puts := make(map[string]registry.ManifestPut, len(tags))
	for _, tag := range tags {
		puts[tag] = imagePut(t, env, repo, tag)
	}
	return puts
}

// aliceEnv is an env with one user, alice.test, and her repository app.
func aliceEnv(t *testing.T) (*storagetest.Env, storagetest.User, registry.Repo) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice := env.AddUser("alice.test")
	return env, alice, env.Repo(t, "alice.test/app")
}

// queueTest runs PutManifest calls in the background against a PDS whose
// applyWrites is stalled: the first push's call waits there, and the
// pushes started after it queue behind it until release.
type queueTest struct {
	t       *testing.T
	env     *storagetest.Env
	repo    registry.Repo
	release func()
	wg      sync.WaitGroup
	errs    []error
}

// stallBehind stalls applyWrites and starts lead's push; it returns once
// lead's call has reached the PDS.
func stallBehind(t *testing.T, env *storagetest.Env, repo registry.Repo, lead registry.ManifestPut) *queueTest {
	t.Helper()
	q := &queueTest{t: t, env: env, repo: repo, release: env.PDS.Stall(applyWritesNSID)}
	t.Cleanup(q.release)
	before := env.PDS.Calls(applyWritesNSID)
	q.start(t.Context(), lead)
	waitFor(t, "the first applyWrites", func() bool { return env.PDS.Calls(applyWritesNSID) == before+1 })
	return q
}

// start starts a push with ctx.
func (q *queueTest) start(ctx context.Context, put registry.ManifestPut) {
	ctx = access.WithGrant(ctx, &access.Grant{Subject: q.repo.Owner.DID})
	q.errs = append(q.errs, nil)
	i := len(q.errs) - 1
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		q.errs[i] = q.env.Store.PutManifest(ctx, q.repo, put)
	}()
}

// queue starts each push in turn, once the one before it is queued.
func (q *queueTest) queue(puts ...registry.ManifestPut) {
	q.t.Helper()
	for _, put := range puts {
		n := q.env.Store.QueuedPushes(q.repo.Owner.DID)
		q.start(q.t.Context(), put)
		waitFor(q.t, "a queued push", func() bool { return q.env.Store.QueuedPushes(q.repo.Owner.DID) == n+1 })
	}
}

// finish ends the stall and returns the pushes' errors in the order they
// were started.
func (q *queueTest) finish() []error {
	q.release()
	q.wg.Wait()
	return q.errs
}

// pushQueued pushes lead, stalled at the PDS, queues the others behind it
// one by one, then lets them all through and fails on any push's error.
func pushQueued(t *testing.T, env *storagetest.Env, repo registry.Repo, lead registry.ManifestPut, queued ...registry.ManifestPut) {
	t.Helper()
	q := stallBehind(t, env, repo, lead)
	q.queue(queued...)
	expectNoErrors(t, q.finish())
}

// expectApplyWrites fails unless the PDS took want applyWrites calls.
func expectApplyWrites(t *testing.T, env *storagetest.Env, want int) {
	t.Helper()
	if got := env.PDS.Calls(applyWritesNSID); got != want {
		t.Fatalf("%d applyWrites calls, want %d", got, want)
	}
}

// expectNoErrors fails the test on any push's error.
func expectNoErrors(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
}

// tagTarget returns the manifest record URI repo:tag points at in the PDS.
func tagTarget(t *testing.T, env *storagetest.Env, repo registry.Repo, tag string) string {
	t.Helper()
	rec, ok := env.PDS.Record(repo.Owner.DID, atcr.TagNSID, pdsread.TagRecordKey(repo.Path(), mustTag(t, tag)))
	if !ok {
		t.Fatalf("no tag record %s:%s", repo.Path(), tag)
	}
	uri, _ := rec["manifest"].(string)
	return uri
}

// notifiedURIs maps each manifest digest the hold accepted to its record.
func notifiedURIs(env *storagetest.Env) map[string]string {
	out := map[string]string{}
	for _, n := range env.Hold.Notified() {
		out[n.ManifestDigest] = n.ManifestURI
	}
	return out
}

// expectTags checks that each tag points at the record of its own push.
func expectTags(t *testing.T, env *storagetest.Env, repo registry.Repo, puts map[string]registry.ManifestPut) {
	t.Helper()
	uris := notifiedURIs(env)
	for tag, put := range puts {
		want := uris[put.Digest.String()]
		if got := tagTarget(t, env, repo, tag); want == "" || got != want {
			t.Errorf("tag %s points at %q, want the record of its push %q", tag, got, want)
		}
	}
}

// Pushes of one owner that wait while an applyWrites of the owner is in
// flight go to the PDS together in the next call: one commit for three
// pushes, each tag pointing at its own manifest.
func TestConcurrentPushesShareACommit(t *testing.T) {
	env, alice, repo := aliceEnv(t)
	puts := imagePuts(t, env, repo, "a", "b", "c", "d")
	pushQueued(t, env, repo, puts["a"], puts["b"], puts["c"], puts["d"])
	expectApplyWrites(t, env, 2)
	if n := len(env.PDS.Records(alice.DID, atcr.ManifestNSID)); n != 4 {
		t.Fatalf("%d manifest records, want 4", n)
	}
	expectTags(t, env, repo, puts)
}

// Two waiting pushes of the same tag are not put in one call (the PDS
// would refuse the whole call): the second goes in the call after, and the
// other pushes are not held up by it.
func TestPushesOfOneTagGoInSeparateCalls(t *testing.T) {
	env, _, repo := aliceEnv(t)
	first, second, other, lead := imagePut(t, env, repo, "v1"), imagePut(t, env, repo, "v1"), imagePut(t, env, repo, "other"), imagePut(t, env, repo, "lead")
	pushQueued(t, env, repo, lead, first, second, other)
	// lead; first and other; second (a create of v1, which first created:
	// refused, so it is written record by record).
	expectApplyWrites(t, env, 3)
	uris := notifiedURIs(env)
	if got, want := tagTarget(t, env, repo, "v1"), uris[second.Digest.String()]; got != want {
		t.Fatalf("v1 points at %s, want the later push's %s", got, want)
	}
	expectTags(t, env, repo, map[string]registry.ManifestPut{"other": other, "lead": lead})
}

// A call of several pushes that the PDS refuses because of one of them
// (here a tag written by another client, which the index took for new) is
// sent again push by push: the others land in their own calls and the
// stale one is written record by record.
func TestRefusedBatchIsSentPushByPush(t *testing.T) {
	env, alice, repo := aliceEnv(t)
	lead := imagePut(t, env, repo, "lead")
	if err := env.Store.PutManifest(access.WithGrant(t.Context(), &access.Grant{Subject: alice.DID}), repo, lead); err != nil {
		t.Fatal(err) // loads the index
	}
	leadURI := notifiedURIs(env)[lead.Digest.String()]
	env.PDS.PutRecord(t, alice.DID, atcr.TagNSID, pdsread.TagRecordKey("app", mustTag(t, "stale")),
		&atcr.Tag{Repository: "app", Tag: "stale", Manifest: leadURI, CreatedAt: "2026-01-02T03:04:05.000Z"})
	puts := imagePuts(t, env, repo, "next", "stale", "b", "c")
	pushQueued(t, env, repo, puts["next"], puts["stale"], puts["b"], puts["c"])
	// lead; next; stale, b and c together (refused); each of them alone.
	expectApplyWrites(t, env, 6)
	expectTags(t, env, repo, puts)
}

// A push whose client goes away while it waits for its call leaves the
// queue: nothing of it is written.
func TestCancelledPushLeavesTheQueue(t *testing.T) {
	env, alice, repo := aliceEnv(t)
	lead, gone := imagePut(t, env, repo, "lead"), imagePut(t, env, repo, "gone")
	q := stallBehind(t, env, repo, lead)
	ctx, cancel := context.WithCancel(t.Context())
	q.start(ctx, gone)
	waitFor(t, "a queued push", func() bool { return env.Store.QueuedPushes(alice.DID) == 1 })
	cancel()
	waitFor(t, "the queue to empty", func() bool { return env.Store.QueuedPushes(alice.DID) == 0 })
	errs := q.finish()
	if errs[0] != nil {
		t.Fatalf("lead push: %v", errs[0])
	}
	if !errors.Is(errs[1], context.Canceled) {
		t.Fatalf("cancelled push: %v, want context.Canceled", errs[1])
	}
	expectApplyWrites(t, env, 1) // the lead push's only
	if _, ok := env.PDS.Record(alice.DID, atcr.TagNSID, pdsread.TagRecordKey("app", mustTag(t, "gone"))); ok {
		t.Fatal("the cancelled push's tag was written")
	}
	if n := len(env.PDS.Records(alice.DID, atcr.ManifestNSID)); n != 1 {
		t.Fatalf("%d manifest records, want the lead push's only", n)
	}
}
