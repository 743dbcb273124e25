package storage_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// A DELETE of a manifest by digest racing a push of the same manifest
// under a new tag (a retention job deleting old digests while CI re-tags
// them) must end as one of the two orders: the tag deleted with the
// manifest, or the manifest recorded again and pulling. It left the new
// tag pointing at the deleted record (listed, never pulling after GC) in
// 4–7 of 15 rounds of the integrity probe.

// waitCalls waits until the fake PDS has received n calls of nsid.
func waitCalls(t *testing.T, env *storagetest.Env, nsid string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for env.PDS.Calls(nsid) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s called %d times, waited for %d", nsid, env.PDS.Calls(nsid), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The push writes its tag after the DELETE listed the tags, and reads
// the reused record after the DELETE removed it: the push records the
// manifest anew, and the tag pulls.
func TestRetagRacingADeleteRecordsTheManifestAnew(t *testing.T) {
	env, ctx, repo, put, retag := pushedForRetag(t)

	// The push's tag write waits until the DELETE is done.
	puts := env.PDS.Calls("com.atproto.repo.putRecord")
	release := env.PDS.Stall("com.atproto.repo.putRecord")
	pushed := make(chan error, 1)
	go func() { pushed <- env.Store.PutManifest(ctx, repo, retag) }()
	waitCalls(t, env, "com.atproto.repo.putRecord", puts+1)
	if err := env.Store.DeleteManifest(ctx, repo, oci.DigestReference(put.Digest)); err != nil {
		release()
		t.Fatalf("DELETE by digest: %v", err)
	}
	release()
	if err := <-pushed; err != nil {
		t.Fatalf("the push racing the DELETE: %v", err)
	}

	t1 := oci.TagReference(mustTag(t, "t1"))
	if m, err := env.Store.GetManifest(ctx, repo, t1); err != nil || m.Digest != put.Digest {
		t.Fatalf("GET t1 after the race: %v, %v", digestOf(m), err)
	}
	if m, err := env.Store.GetManifest(ctx, repo, oci.DigestReference(put.Digest)); err != nil || m.Digest != put.Digest {
		t.Fatalf("GET by digest after the race: %v, %v", digestOf(m), err)
	}
	assertNoDanglingTags(t, env, repo)
}

// The push writes its tag after the DELETE listed the tags and finds the
// record still there; the DELETE then removes the record, and takes the
// tag too.
func TestDeleteRacingARetagTakesTheNewTag(t *testing.T) {
	env, ctx, repo, put, retag := pushedForRetag(t)

	// The DELETE has listed the tags and waits at its first delete (of
	// "base") while the push tags the manifest.
	deletes := env.PDS.Calls("com.atproto.repo.deleteRecord")
	release := env.PDS.Stall("com.atproto.repo.deleteRecord")
	deleted := make(chan error, 1)
	go func() { deleted <- env.Store.DeleteManifest(ctx, repo, oci.DigestReference(put.Digest)) }()
	waitCalls(t, env, "com.atproto.repo.deleteRecord", deletes+1)
	err := env.Store.PutManifest(ctx, repo, retag)
	release()
	if err != nil {
		t.Fatalf("the push racing the DELETE: %v", err)
	}
	if err := <-deleted; err != nil {
		t.Fatalf("DELETE by digest: %v", err)
	}

	for _, tag := range []string{"base", "t1"} {
		if m, err := env.Store.GetManifest(ctx, repo, oci.TagReference(mustTag(t, tag))); !errors.Is(err, registry.ErrManifestUnknown) {
			t.Errorf("GET %s after the DELETE: %v, %v; want unknown", tag, digestOf(m), err)
		}
	}
	assertNoDanglingTags(t, env, repo)
}

// pushedForRetag pushes an image to alice's repository as "base" and
// returns its put and the same put under tag "t1", with a context whose
// grant is alice's.
func pushedForRetag(t *testing.T) (*storagetest.Env, context.Context, registry.Repo, registry.ManifestPut, registry.ManifestPut) {
	t.Helper()
	env, _, repo := aliceEnv(t)
	ctx := access.WithGrant(t.Context(), &access.Grant{Subject: repo.Owner.DID})
	put := imagePut(t, env, repo, "base")
	if err := env.Store.PutManifest(ctx, repo, put); err != nil {
		t.Fatal(err)
	}
	retag := put
	retag.Tags = []oci.Tag{mustTag(t, "t1")}
	return env, ctx, repo, put, retag
}

// assertNoDanglingTags fails when a tag record on the PDS points at a
// manifest record the PDS does not have.
func assertNoDanglingTags(t *testing.T, env *storagetest.Env, repo registry.Repo) {
	t.Helper()
	manifests := env.PDS.Records(repo.Owner.DID, atcr.ManifestNSID)
	var uris []string
	for rkey := range manifests {
		uris = append(uris, "at://"+repo.Owner.DID.String()+"/"+atcr.ManifestNSID+"/"+rkey)
	}
	for rkey, tag := range env.PDS.Records(repo.Owner.DID, atcr.TagNSID) {
		uri, _ := tag["manifest"].(string)
		if !slices.Contains(uris, uri) {
			t.Errorf("tag %s points at %s, which the PDS does not have (it has %v)", rkey, uri, uris)
		}
	}
}

// The reused record deleted between the push's check and the hold's read
// of it: the hold answers ManifestNotFound, a final answer (not an outage
// retried three times and answered 502), and the push records the
// manifest anew.
func TestRetagWhoseRecordTheHoldCannotFindRecordsItAnew(t *testing.T) {
	env, ctx, repo, put, retag := pushedForRetag(t)
	before := env.Hold.Notified()
	env.Hold.SetNotifyError(1, http.StatusBadRequest, atcr.ErrorManifestNotFound, "the owner's PDS has no record at that URI")
	if err := env.Store.PutManifest(ctx, repo, retag); err != nil {
		t.Fatalf("re-tag after the hold found no record: %v", err)
	}
	after := env.Hold.Notified()
	if n := len(after) - len(before); n != 1 {
		t.Fatalf("%d notifications accepted after the refusal, want 1 (of the record written anew)", n)
	}
	if old, now := before[len(before)-1].ManifestURI, after[len(after)-1].ManifestURI; now == old {
		t.Fatalf("the hold was asked about %s again (a retry of the refusal), not about a record written anew", old)
	}
	if m, err := env.Store.GetManifest(ctx, repo, oci.TagReference(mustTag(t, "t1"))); err != nil || m.Digest != put.Digest {
		t.Fatalf("GET t1: %v, %v", digestOf(m), err)
	}
	assertNoDanglingTags(t, env, repo)
}

// A DELETE of manifest A racing a push that moves one of A's tags to
// manifest B: the move stands (the tag is deleted only while it still
// names A). The DELETE once deleted the moved tag with A — an acknowledged
// push lost (the re-check of the integrity probe: 1–9 of 20 rounds).
func TestDeleteRacingATagMoveKeepsTheMove(t *testing.T) {
	env, _, repo := aliceEnv(t)
	ctx := access.WithGrant(t.Context(), &access.Grant{Subject: repo.Owner.DID})
	a := imagePut(t, env, repo, "latest")
	if err := env.Store.PutManifest(ctx, repo, a); err != nil {
		t.Fatal(err)
	}
	b := imagePut(t, env, repo, "latest")

	// The DELETE has listed the tags and waits at its first delete while
	// the push moves latest to b.
	deletes := env.PDS.Calls("com.atproto.repo.deleteRecord")
	release := env.PDS.Stall("com.atproto.repo.deleteRecord")
	deleted := make(chan error, 1)
	go func() { deleted <- env.Store.DeleteManifest(ctx, repo, oci.DigestReference(a.Digest)) }()
	waitCalls(t, env, "com.atproto.repo.deleteRecord", deletes+1)
	err := env.Store.PutManifest(ctx, repo, b)
	release()
	if err != nil {
		t.Fatalf("the push moving the tag: %v", err)
	}
	if err := <-deleted; err != nil {
		t.Fatalf("DELETE by digest: %v", err)
	}
	if m, err := env.Store.GetManifest(ctx, repo, oci.TagReference(mustTag(t, "latest"))); err != nil || m.Digest != b.Digest {
		t.Fatalf("GET latest after the race: %v, %v; want the moved-to manifest %s", digestOf(m), err, b.Digest)
	}
	if _, err := env.Store.GetManifest(ctx, repo, oci.DigestReference(a.Digest)); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Fatalf("GET the deleted manifest: %v", err)
	}
	assertNoDanglingTags(t, env, repo)
}
