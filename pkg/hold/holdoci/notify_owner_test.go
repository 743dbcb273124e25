package holdoci

import (
	"net/http"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// TestNotifyManifestBelievesTheOwnersPDS [M1]: the hold records what the
// manifest record in the owner's PDS says, not what the caller sends. A
// record that does not exist, that describes another manifest or names
// another hold is refused with ManifestNotFound and records nothing; the
// layers come from the record; an owner PDS that fails is a 502 with
// Retry-After, never a silent success.
func TestNotifyManifestBelievesTheOwnersPDS(t *testing.T) {
	e := newEnv(t)
	a, b, other := e.putBlob(t, 110, 10), e.putBlob(t, 111, 20), e.putBlob(t, 112, 30)
	uri := manifestURIOf(alice, "3kmmmmmmmmm22")
	in := notifyInput(uri, "v1", oci.Digest{}, a, b)

	// No record: refused, nothing recorded (the review's phantom manifest).
	wantError(t, e.post(t, alice, atcr.HoldNotifyManifestNSID, in), http.StatusBadRequest, atcr.ErrorManifestNotFound)

	// A record for another manifest digest, or for another hold.
	e.owner.putManifest(t, uri, notifyInput(uri, "v1", oci.Digest{}, a, b))
	wrongDigest := in
	wrongDigest.ManifestDigest = oci.FromBytes(oci.SHA256, []byte("another manifest")).String()
	wantError(t, e.post(t, alice, atcr.HoldNotifyManifestNSID, wrongDigest), http.StatusBadRequest, atcr.ErrorManifestNotFound)
	e.owner.setValue(uri, "holdDid", "did:web:other-hold.example.com")
	wantError(t, e.post(t, alice, atcr.HoldNotifyManifestNSID, in), http.StatusBadRequest, atcr.ErrorManifestNotFound)
	if n := len(e.layerRecords(t)); n != 0 {
		t.Fatalf("refused notifications wrote %d layer records", n)
	}

	// The caller claims layer "other" and repository "elsewhere"; the record
	// says a and b in "app". The record wins.
	e.owner.putManifest(t, uri, in)
	lying := notifyInput(uri, "v1", oci.Digest{}, other)
	lying.Repository = "elsewhere"
	var out atcr.HoldNotifyManifest_Output
	e.call(t, alice, atcr.HoldNotifyManifestNSID, lying, &out)
	got := map[string]string{}
	for _, r := range e.layerRecords(t) {
		got[r.Digest] = r.Repository
	}
	if out.LayersRecorded != 2 || len(got) != 2 || got[a.String()] != "app" || got[b.String()] != "app" {
		t.Fatalf("recorded %d: %v; want a and b of repository app", out.LayersRecorded, got)
	}

	// The owner's PDS failing is an upstream failure, retryable.
	e.owner.setFail(true)
	resp := e.post(t, alice, atcr.HoldNotifyManifestNSID, notifyInput(manifestURIOf(alice, "3kmmmmmmmmm33"), "", a))
	wantError(t, resp, http.StatusBadGateway, atcr.ErrorUpstreamFailure)
	if resp.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on an owner-PDS failure")
	}
}

// TestNotifyManifestPostsOncePerManifestAndRateLimited [M1, L10]: an index
// (no blobs) notified five times is announced once, also after a restart;
// a user's posts are rate limited (a burst of 3, then 6 an hour).
func TestNotifyManifestPostsOncePerManifestAndRateLimited(t *testing.T) {
	e := newEnv(t)
	e.captain.set(true)
	index := manifestURIOf(alice, "3knnnnnnnnn22")
	posts := 0
	for range 5 {
		if out := e.notify(t, alice, notifyInput(index, "latest", oci.Digest{})); out.PostURI != "" {
			posts++
		}
	}
	e.restart(t)
	if out := e.notify(t, alice, notifyInput(index, "latest", oci.Digest{})); out.PostURI != "" {
		posts++
	}
	if posts != 1 || e.countRecords(t, postCollection.String()) != 1 {
		t.Fatalf("%d posts for one index notified 6 times, want 1", posts)
	}

	// (The rate limiter lives in memory: the restart gave alice a full
	// burst.) Three more manifests use up the burst of 3; the fourth is not
	// posted.
	for i, rkey := range []string{"3knnnnnnnnn33", "3knnnnnnnnn44", "3knnnnnnnnn55", "3knnnnnnnnn77"} {
		out := e.notify(t, alice, notifyInput(manifestURIOf(alice, rkey), "", oci.Digest{}))
		if want := i < 3; (out.PostURI != "") != want {
			t.Fatalf("manifest %d after the restart: posted=%v, want %v", i+1, out.PostURI != "", want)
		}
	}
	// Bob has his own budget.
	if out := e.notify(t, bob, notifyInput(manifestURIOf(bob, "3knnnnnnnnn22"), "", oci.Digest{})); out.PostURI == "" {
		t.Fatal("bob's first post was refused")
	}
	// Ten minutes later alice has earned one post; the skipped manifest
	// was not marked announced, but a repeat is not a new push either.
	e.clock.Advance(10 * time.Minute)
	if out := e.notify(t, alice, notifyInput(manifestURIOf(alice, "3knnnnnnnnn66"), "", oci.Digest{})); out.PostURI == "" {
		t.Fatal("no post after the rate refilled")
	}
}
