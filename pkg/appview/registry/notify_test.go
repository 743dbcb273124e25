package registry_test

import (
	"net/http"
	"strings"
	"testing"

	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// putManifestOf uploads an image's blobs and PUTs its manifest, returning
// the response.
func (e *testEnv) putManifestOf(t *testing.T, u storagetest.User, repo, ref string) *http.Response {
	t.Helper()
	blobs := [][]byte{[]byte(`{"architecture":"amd64","os":"linux"}`), randomBytes(300)}
	for _, b := range blobs {
		e.pushBlob(t, u, repo, b)
	}
	return e.call(t, u, http.MethodPut, "/v2/"+repo+"/manifests/"+ref, imageManifest(t, blobs, nil),
		map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
}

// noImageLeft fails if the user's PDS holds a manifest or tag record.
func (e *testEnv) noImageLeft(t *testing.T, u storagetest.User) {
	t.Helper()
	if n, m := len(e.PDS.Records(u.DID, atcr.ManifestNSID)), len(e.PDS.Records(u.DID, atcr.TagNSID)); n != 0 || m != 0 {
		t.Fatalf("a refused push left %d manifest and %d tag records", n, m)
	}
}

// TestQuotaRefusalFailsPush: a push the hold refuses for quota answers
// 403 DENIED naming the hold, the quota and the usage, and leaves no
// record that claims an image.
func TestQuotaRefusalFailsPush(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	env.Hold.SetNotifyError(-1, http.StatusBadRequest, atcr.ErrorQuotaExceeded,
		"storage quota exceeded: this push needs 2 MiB more, 1 GiB of 1 GiB (tier deckhand) already used")
	msg := expectError(t, env.putManifestOf(t, env.alice, "alice.test/app", "v1"), http.StatusForbidden, "DENIED")
	for _, want := range []string{"quota", string(storagetest.HoldDID), "1 GiB of 1 GiB"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}
	env.noImageLeft(t, env.alice)
	expectError(t, env.call(t, storagetest.User{}, http.MethodGet, "/v2/alice.test/app/manifests/v1", nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
}

// TestNotifyFailureFailsPush: a hold that keeps failing is asked again,
// then the push fails with 502 and leaves no image behind.
func TestNotifyFailureFailsPush(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	env.Hold.SetNotifyFails(true)
	expectError(t, env.putManifestOf(t, env.alice, "alice.test/app", "v1"), http.StatusBadGateway, "UNKNOWN")
	if got := env.Hold.Calls(atcr.HoldNotifyManifestNSID); got != 3 {
		t.Errorf("notifyManifest called %d times, want 3 attempts", got)
	}
	env.noImageLeft(t, env.alice)
}

// TestNotifyIsRetried: a hold that fails once (restarting) is asked again
// and the push succeeds.
func TestNotifyIsRetried(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	env.Hold.SetNotifyError(1, http.StatusServiceUnavailable, "ServiceUnavailable", "restarting")
	expectStatus(t, env.putManifestOf(t, env.alice, "alice.test/app", "v1"), http.StatusCreated)
	if got := env.Hold.Calls(atcr.HoldNotifyManifestNSID); got != 2 {
		t.Errorf("notifyManifest called %d times, want 2", got)
	}
	if len(env.PDS.Records(env.alice.DID, atcr.TagNSID)) != 1 {
		t.Fatal("tag not written after the retried notification")
	}
}

// TestBlobGoneAtNotify: a blob the hold no longer has when the manifest
// is announced (collected since the client's HEAD, which the stat cache
// may still remember) is MANIFEST_BLOB_UNKNOWN, and asked afresh next time.
func TestBlobGoneAtNotify(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	blobs := [][]byte{[]byte(`{"architecture":"amd64","os":"linux"}`), randomBytes(300)}
	var layer oci.Digest
	for _, b := range blobs {
		layer = env.pushBlob(t, env.alice, "alice.test/app", b)
	}
	body := imageManifest(t, blobs, nil)
	env.Hold.DeleteBlob(t, layer) // garbage collection, behind the stat cache's back
	resp := env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	expectError(t, resp, http.StatusNotFound, "MANIFEST_BLOB_UNKNOWN")
	env.noImageLeft(t, env.alice)
	// The client uploads it again; now the push goes through.
	env.pushBlob(t, env.alice, "alice.test/app", blobs[1])
	expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, map[string]string{"Content-Type": oci.MediaTypeOCIManifest}), http.StatusCreated)
}
