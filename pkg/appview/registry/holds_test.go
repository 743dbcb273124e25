package registry_test

import (
	"net/http"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
)

// TestPullsFollowTheManifestsHold: after a user moves their default hold,
// pulls of what they pushed before still go to the old hold (the manifest
// record's holdDid), while a pusher's HEAD asks only the new push hold,
// so the client uploads there what the next manifest will need.
func TestPullsFollowTheManifestsHold(t *testing.T) {
	// A HoldTTL of 1ns: the profile change below is seen at once.
	env := newTestEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.HoldTTL = 1 }})
	const newHold = syntax.DID("did:web:hold-new.test")
	hold2 := env.AddHold(t, newHold, storagetest.MockS3(t))

	layer := randomBytes(700)
	cfg := []byte(`{"os":"linux"}`)
	for _, b := range [][]byte{cfg, layer} {
		env.pushBlob(t, env.alice, "alice.test/app", b)
	}
	expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", imageManifest(t, [][]byte{cfg, layer}, nil),
		map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}), http.StatusCreated)

	env.PDS.PutRecord(t, env.alice.DID, atcr.SailorProfileNSID, "self", atcr.SailorProfile{
		DefaultHold: newHold.String(), CreatedAt: "2026-03-01T12:00:00.000Z", UpdatedAt: "2026-03-01T12:00:00.000Z",
	})
	d := digestOf(layer)
	if got := env.fetchBlob(t, "alice.test/app", d); string(got) != string(layer) {
		t.Fatal("pull from the manifest's hold returned other bytes")
	}
	expectStatus(t, env.call(t, storagetest.User{}, http.MethodHead, "/v2/alice.test/app/blobs/"+d.String(), nil, nil), http.StatusOK)
	expectStatus(t, env.call(t, env.alice, http.MethodHead, "/v2/alice.test/app/blobs/"+d.String(), nil, nil), http.StatusNotFound)

	// The next push lands on the new hold and its record says so.
	env.pushBlob(t, env.alice, "alice.test/app", layer)
	if !hold2.HasBlob(t, d) {
		t.Fatal("re-upload did not reach the new push hold")
	}
}
