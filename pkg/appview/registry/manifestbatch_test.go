package registry_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

const (
	applyWrites  = "com.atproto.repo.applyWrites"
	createRecord = "com.atproto.repo.createRecord"
	putRecord    = "com.atproto.repo.putRecord"
)

// tagRecord returns the tag record of repo:tag in u's PDS.
func (e *testEnv) tagRecord(t *testing.T, u storagetest.User, repoPath, tag string) map[string]any {
	t.Helper()
	rec, ok := e.PDS.Record(u.DID, atcr.TagNSID, pdsread.TagRecordKey(repoPath, mustTag(t, tag)))
	if !ok {
		t.Fatalf("no tag record %s:%s", repoPath, tag)
	}
	return rec
}

// A new manifest and its tag are one applyWrites: no createRecord or
// putRecord on the push path, and the manifest's bytes are uploaded once.
func TestPushWritesManifestAndTagInOneBatch(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	d, _ := env.pushImage(t, env.alice, "alice.test/app", "v1")
	if a, c, p, u := env.PDS.Calls(applyWrites), env.PDS.Calls(createRecord), env.PDS.Calls(putRecord), env.PDS.Calls("com.atproto.repo.uploadBlob"); a != 1 || c != 0 || p != 0 || u != 1 {
		t.Fatalf("applyWrites=%d createRecord=%d putRecord=%d uploadBlob=%d, want 1 0 0 1", a, c, p, u)
	}
	manifests := env.PDS.Records(env.alice.DID, atcr.ManifestNSID)
	if len(manifests) != 1 {
		t.Fatalf("%d manifest records, want 1", len(manifests))
	}
	var uri string
	for rkey := range manifests {
		uri = pdsread.ManifestURI(env.alice.DID, rkey)
	}
	if got := env.tagRecord(t, env.alice, "app", "v1")["manifest"]; got != uri {
		t.Fatalf("tag points at %v, want %s", got, uri)
	}
	if n := len(env.Hold.Notified()); n != 1 {
		t.Fatalf("%d notifications, want 1", n)
	}
	// Moving the tag to a new manifest is an update in the same kind of batch.
	d2, _ := env.pushImage(t, env.alice, "alice.test/app", "v1")
	if a, c, p := env.PDS.Calls(applyWrites), env.PDS.Calls(createRecord), env.PDS.Calls(putRecord); a != 2 || c != 0 || p != 0 {
		t.Fatalf("second push: applyWrites=%d createRecord=%d putRecord=%d, want 2 0 0", a, c, p)
	}
	resp := env.call(t, storagetest.User{}, http.MethodGet, "/v2/alice.test/app/manifests/v1", nil, nil)
	expectStatus(t, resp, http.StatusOK)
	if got := resp.Header.Get("Docker-Content-Digest"); got != d2.String() || d == d2 {
		t.Fatalf("v1 is %s, want the second image %s", got, d2)
	}
}

// A refused push whose tag existed puts the tag back exactly as it was and
// withdraws the new manifest record.
func TestRefusedPushRestoresTheTag(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	d, _ := env.pushImage(t, env.alice, "alice.test/app", "v1")
	before := env.tagRecord(t, env.alice, "app", "v1")
	env.Hold.SetNotifyError(-1, http.StatusBadRequest, atcr.ErrorQuotaExceeded, "storage quota exceeded")
	expectError(t, env.putManifestOf(t, env.alice, "alice.test/app", "v1"), http.StatusForbidden, "DENIED")
	if after := env.tagRecord(t, env.alice, "app", "v1"); !reflect.DeepEqual(after, before) {
		t.Fatalf("tag after the refusal %v, want it as before %v", after, before)
	}
	if n := len(env.PDS.Records(env.alice.DID, atcr.ManifestNSID)); n != 1 {
		t.Fatalf("%d manifest records, want the first image's only", n)
	}
	resp := env.call(t, storagetest.User{}, http.MethodGet, "/v2/alice.test/app/manifests/v1", nil, nil)
	expectStatus(t, resp, http.StatusOK)
	if got := resp.Header.Get("Docker-Content-Digest"); got != d.String() {
		t.Fatalf("v1 is %s after the refused push, want %s", got, d)
	}
}

// A tag someone else moved while the hold was deciding is theirs: the
// withdrawal leaves it, and still removes the refused manifest record.
func TestRefusedPushLeavesATagMovedMeanwhile(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	env.pushImage(t, env.alice, "alice.test/app", "v1")
	var firstURI string
	for rkey := range env.PDS.Records(env.alice.DID, atcr.ManifestNSID) {
		firstURI = pdsread.ManifestURI(env.alice.DID, rkey)
	}
	moved := atcr.Tag{Repository: "app", Tag: "v2", Manifest: firstURI, CreatedAt: "2026-01-02T03:04:05.000Z"}
	rkey := pdsread.TagRecordKey("app", mustTag(t, "v2"))
	// The hold reads the new record, another client moves v2 meanwhile,
	// and the hold refuses (no such record).
	env.Hold.ReadRecordsFrom(func(did syntax.DID, collection, key string) (map[string]any, bool) {
		env.PDS.PutRecord(t, did, atcr.TagNSID, rkey, &moved)
		return nil, false
	})
	resp := env.putManifestOf(t, env.alice, "alice.test/app", "v2")
	if resp.StatusCode < 400 {
		t.Fatalf("status %d, want the refusal", resp.StatusCode)
	}
	if got := env.tagRecord(t, env.alice, "app", "v2"); got["manifest"] != firstURI || got["createdAt"] != moved.CreatedAt {
		t.Fatalf("tag v2 %v, want the other client's", got)
	}
	if n := len(env.PDS.Records(env.alice.DID, atcr.ManifestNSID)); n != 1 {
		t.Fatalf("%d manifest records, want the refused one withdrawn", n)
	}
}

// The index guessed wrong that a tag is new (another client wrote it
// since): the batch fails on the PDS, and the push writes the records one
// by one instead and succeeds.
func TestStaleIndexFallsBackToSingleWrites(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	env.pushImage(t, env.alice, "alice.test/app", "v1") // loads the index
	var firstURI string
	for rkey := range env.PDS.Records(env.alice.DID, atcr.ManifestNSID) {
		firstURI = pdsread.ManifestURI(env.alice.DID, rkey)
	}
	env.PDS.PutRecord(t, env.alice.DID, atcr.TagNSID, pdsread.TagRecordKey("app", mustTag(t, "v2")),
		&atcr.Tag{Repository: "app", Tag: "v2", Manifest: firstURI, CreatedAt: "2026-01-02T03:04:05.000Z"})
	d, _ := env.pushImage(t, env.alice, "alice.test/app", "v2")
	if a, c, p := env.PDS.Calls(applyWrites), env.PDS.Calls(createRecord), env.PDS.Calls(putRecord); a != 2 || c != 1 || p != 1 {
		t.Fatalf("applyWrites=%d createRecord=%d putRecord=%d, want 2 1 1", a, c, p)
	}
	resp := env.call(t, storagetest.User{}, http.MethodGet, "/v2/alice.test/app/manifests/v2", nil, nil)
	expectStatus(t, resp, http.StatusOK)
	if got := resp.Header.Get("Docker-Content-Digest"); got != d.String() {
		t.Fatalf("v2 is %s, want %s", got, d)
	}
}

func mustTag(t *testing.T, s string) oci.Tag {
	t.Helper()
	tag, err := oci.ParseTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
