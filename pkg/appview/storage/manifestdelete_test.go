package storage_test

import (
	"errors"
	"testing"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// pushImage uploads a config and one layer into repo and pushes an image
// manifest of them under tag; it returns the manifest's digest and the
// AT-URI of its record (from the hold's notification).
func pushImage(t *testing.T, env *storagetest.Env, repo registry.Repo, tag string) (oci.Digest, string) {
	t.Helper()
	before := len(env.Hold.Notified())
	digest, err := putImage(t, env, repo, tag)
	if err != nil {
		t.Fatalf("PutManifest: %v", err)
	}
	notified := env.Hold.Notified()
	if len(notified) != before+1 {
		t.Fatalf("%d notifyManifest calls, want %d", len(notified), before+1)
	}
	return digest, notified[len(notified)-1].ManifestURI
}

// putImage uploads a config and one layer of fresh random bytes into repo
// and puts an image manifest of them under tag; it returns the manifest's
// digest and PutManifest's error.
func putImage(t *testing.T, env *storagetest.Env, repo registry.Repo, tag string) (oci.Digest, error) {
	t.Helper()
	put := imagePut(t, env, repo, tag)
	return put.Digest, env.Store.PutManifest(access.WithGrant(t.Context(), &access.Grant{Subject: repo.Owner.DID}), repo, put)
}

// TestDeleteManifestNotifiesTheHold: a DELETE by digest calls
// notifyManifestDeleted on the record's hold, as the owner, with the
// record's AT-URI, after the manifest record and its tag are gone from the
// PDS. A DELETE of a tag alone does not.
func TestDeleteManifestNotifiesTheHold(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice := env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	d, uri := pushImage(t, env, repo, "v1")
	pushImage(t, env, repo, "v2")

	if err := env.Store.DeleteManifest(t.Context(), repo, oci.TagReference(mustTag(t, "v2"))); err != nil {
		t.Fatalf("delete tag: %v", err)
	}
	if n := len(env.Hold.NotifiedDeleted()); n != 0 {
		t.Fatalf("deleting a tag notified the hold %d times", n)
	}

	var leftAtCall []string
	env.Hold.OnNotifyDeleted(func(storagetest.DeletedNotice) {
		for _, coll := range []string{atcr.ManifestNSID, atcr.TagNSID} {
			for rkey, rec := range env.PDS.Records(alice.DID, coll) {
				if rec["digest"] == d.String() || rec["manifest"] == uri {
					leftAtCall = append(leftAtCall, coll+"/"+rkey)
				}
			}
		}
	})
	if err := env.Store.DeleteManifest(t.Context(), repo, oci.DigestReference(d)); err != nil {
		t.Fatalf("delete manifest: %v", err)
	}
	got := env.Hold.NotifiedDeleted()
	if len(got) != 1 || got[0].Caller != alice.DID || got[0].ManifestURI != uri {
		t.Fatalf("notifyManifestDeleted calls %+v, want one by %s for %s", got, alice.DID, uri)
	}
	if len(leftAtCall) != 0 {
		t.Fatalf("the hold was notified while the PDS still had %v", leftAtCall)
	}
}

// TestDeleteManifestStandsWhenTheHoldFails: the hold refusing (502) or
// being unreachable never fails the DELETE; the records are gone all the
// same.
func TestDeleteManifestStandsWhenTheHoldFails(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	alice := env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	refused, _ := pushImage(t, env, repo, "v1")
	unreachable, _ := pushImage(t, env, repo, "v2")

	env.Hold.SetNotifyDeletedFails(true)
	if err := env.Store.DeleteManifest(t.Context(), repo, oci.DigestReference(refused)); err != nil {
		t.Fatalf("delete with the hold refusing: %v", err)
	}
	env.Hold.SetDown(true)
	if err := env.Store.DeleteManifest(t.Context(), repo, oci.DigestReference(unreachable)); err != nil {
		t.Fatalf("delete with the hold down: %v", err)
	}
	if n := env.Hold.Calls(atcr.HoldNotifyManifestDeletedNSID); n != 2 {
		t.Fatalf("%d notifyManifestDeleted attempts, want 2", n)
	}
	if recs := env.PDS.Records(alice.DID, atcr.ManifestNSID); len(recs) != 0 {
		t.Fatalf("manifest records left: %v", recs)
	}
	if recs := env.PDS.Records(alice.DID, atcr.TagNSID); len(recs) != 0 {
		t.Fatalf("tag records left: %v", recs)
	}
	for _, d := range []oci.Digest{refused, unreachable} {
		if _, err := env.Store.GetManifest(t.Context(), repo, oci.DigestReference(d)); !errors.Is(err, registry.ErrManifestUnknown) {
			t.Fatalf("GetManifest %s after delete: %v", d, err)
		}
	}
}
