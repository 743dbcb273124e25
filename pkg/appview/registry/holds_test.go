package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// pushThenMoveHold pushes alice.test/app:v1 (a config and a layer) to the
// env's hold, then moves alice's default hold to a new hold, which it
// returns with the layer and the config.
func (env *testEnv) pushThenMoveHold(t *testing.T) (*storagetest.Hold, []byte, []byte) {
	t.Helper()
	const newHold = syntax.DID("did:web:hold-new.test")
	hold := env.AddHold(t, newHold, storagetest.MockS3(t))
	layer, cfg := randomBytes(700), []byte(`{"os":"linux"}`)
	for _, b := range [][]byte{cfg, layer} {
		env.pushBlob(t, env.alice, "alice.test/app", b)
	}
	expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", imageManifest(t, [][]byte{cfg, layer}, nil),
		map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}), http.StatusCreated)
	env.PDS.PutRecord(t, env.alice.DID, atcr.SailorProfileNSID, "self", atcr.SailorProfile{
		DefaultHold: newHold.String(), CreatedAt: "2026-03-01T12:00:00.000Z", UpdatedAt: "2026-03-01T12:00:00.000Z",
	})
	return hold, layer, cfg
}

// TestPullsFollowTheManifestsHold: after a user moves their default hold,
// pulls of what they pushed before still go to the old hold (the manifest
// record's holdDid), while a pusher's HEAD asks only the new push hold,
// so the client uploads there what the next manifest will need.
func TestPullsFollowTheManifestsHold(t *testing.T) {
	// A HoldTTL of 1ns: the profile change below is seen at once.
	env := newTestEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.HoldTTL = 1 }})
	hold2, layer, _ := env.pushThenMoveHold(t)
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

// TestPushesFollowARetiredHoldsSuccessor: alice's profile names a hold
// whose captain record (in the real index) names a successor. Her next
// push goes to the successor, and its manifest record says so; the image
// she pushed to the old hold before still pulls from the old hold.
func TestPushesFollowARetiredHoldsSuccessor(t *testing.T) {
	d := storagetest.OpenDB(t, filepath.Join(t.TempDir(), "appview.db"))
	idx := index.New(d, index.Options{})
	t.Cleanup(func() { idx.Close(context.Background()) })
	env := newTestEnv(t, storagetest.EnvOptions{DB: d, Store: func(o *storage.Options) {
		o.HoldTTL = 1 // the captain record written below is seen at once
		o.Successors = idx
	}})
	const successor = syntax.DID("did:web:hold-successor.test")
	next := env.AddHold(t, successor, storagetest.MockS3(t))
	env.PDS.PutRecord(t, env.alice.DID, atcr.SailorProfileNSID, "self", atcr.SailorProfile{
		DefaultHold: storagetest.HoldDID.String(), CreatedAt: "2026-03-01T12:00:00.000Z", UpdatedAt: "2026-03-01T12:00:00.000Z",
	})

	cfg := []byte(`{"os":"linux"}`)
	push := func(tag string, layer []byte) {
		t.Helper()
		for _, b := range [][]byte{cfg, layer} {
			env.pushBlob(t, env.alice, "alice.test/app", b)
		}
		expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/"+tag, imageManifest(t, [][]byte{cfg, layer}, nil),
			map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}), http.StatusCreated)
	}
	oldLayer, newLayer := randomBytes(700), randomBytes(900)
	push("v1", oldLayer)
	if !env.Hold.HasBlob(t, digestOf(oldLayer)) || next.HasBlob(t, digestOf(oldLayer)) {
		t.Fatal("before retirement the push did not go to the profile's hold")
	}

	// The hold is retired: its captain record names the successor.
	captain, err := atcr.ToMap(&atcr.HoldCaptain{Owner: env.bob.DID.String(), Public: true, DeployedAt: "2026-03-01T12:00:00.000Z", Successor: successor.String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Put(t.Context(), index.Record{DID: storagetest.HoldDID.String(), Collection: atcr.HoldCaptainNSID, RKey: "self", Value: captain}); err != nil {
		t.Fatal(err)
	}
	push("v2", newLayer)
	if !next.HasBlob(t, digestOf(newLayer)) || env.Hold.HasBlob(t, digestOf(newLayer)) {
		t.Fatal("the push after retirement did not go to the successor")
	}
	holdOf := map[string]string{}
	for _, rec := range env.PDS.Records(env.alice.DID, atcr.ManifestNSID) {
		holdOf[rec["digest"].(string)] = rec["holdDid"].(string)
	}
	v1 := digestOf(imageManifest(t, [][]byte{cfg, oldLayer}, nil)).String()
	v2 := digestOf(imageManifest(t, [][]byte{cfg, newLayer}, nil)).String()
	if holdOf[v1] != storagetest.HoldDID.String() || holdOf[v2] != successor.String() {
		t.Fatalf("manifest records' holds: %v", holdOf)
	}

	// Pulls go to the hold a manifest names: v1's layer still comes from
	// the retired hold, v2's from the successor.
	if got := env.fetchBlob(t, "alice.test/app", digestOf(oldLayer)); string(got) != string(oldLayer) {
		t.Fatal("the image on the retired hold does not pull")
	}
	if got := env.fetchBlob(t, "alice.test/app", digestOf(newLayer)); string(got) != string(newLayer) {
		t.Fatal("the image on the successor does not pull")
	}
}

// TestAHangingHoldIsAskedLastForAWhile: the hold alice's manifest names
// stops answering (it accepts connections and says nothing). The first
// lookup waits out the call timeout and finds the blob on her push hold;
// the lookups after it ask the push hold first instead of waiting again,
// until the hanging hold's pause ends. A blob no other hold has is still
// asked of the paused hold, last, so a hold that is back serves at once,
// and its answer ends the pause.
func TestAHangingHoldIsAskedLastForAWhile(t *testing.T) {
	const timeout = 300 * time.Millisecond
	clk := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	env := newTestEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) {
		o.HoldTTL = time.Second // the profile change below is seen after clk.Advance
		o.HoldCallTimeout = timeout
		o.Now = clk.Now
	}})
	_, layer, cfg := env.pushThenMoveHold(t)
	clk.Advance(2 * time.Second)
	d := env.pushBlob(t, env.alice, "alice.test/app", layer) // now on both holds
	onlyOld := digestOf(cfg)                                 // only on the old hold
	env.Hold.SetHanging(true)

	head := func(d oci.Digest) (int, time.Duration) {
		t.Helper()
		start := time.Now()
		resp := env.call(t, storagetest.User{}, http.MethodHead, "/v2/alice.test/app/blobs/"+d.String(), nil, nil)
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	lookups := func() int { return env.Hold.Calls("com.atproto.sync.getBlob") }
	before := lookups()
	if status, took := head(d); status != http.StatusOK || took < timeout {
		t.Fatalf("first HEAD: %d after %v, want 200 after the %v timeout", status, took, timeout)
	}
	for range 3 {
		if status, took := head(d); status != http.StatusOK || took >= timeout {
			t.Fatalf("HEAD during the pause: %d after %v, want 200 without waiting", status, took)
		}
	}
	if lookups() != before+1 {
		t.Fatalf("the hanging hold was asked %d times, want 1: the push hold had the blob", lookups()-before)
	}

	// The pause ends: the hold, still hanging, is asked first again and
	// paused twice as long.
	clk.Advance(16 * time.Second)
	if status, took := head(d); status != http.StatusOK || took < timeout {
		t.Fatalf("HEAD after the pause: %d after %v, want 200 after the timeout", status, took)
	}
	clk.Advance(16 * time.Second)
	if _, took := head(d); took >= timeout || lookups() != before+2 {
		t.Fatalf("the second pause was not longer: HEAD took %v, hold asked %d times", took, lookups()-before)
	}

	// Back: a blob only it has is asked of it (last) and served at once,
	// and that answer ends the pause: it is asked first again.
	env.Hold.SetHanging(false)
	if status, took := head(onlyOld); status != http.StatusOK || took >= timeout {
		t.Fatalf("HEAD of a blob only the recovered hold has: %d after %v, want 200 without waiting", status, took)
	}
	if head(d); lookups() != before+4 {
		t.Fatalf("after its answer the hold was asked %d times in all, want 4 (first again)", lookups()-before)
	}
}

// TestManifestsPastATruncatedIndexPullByDigest: an account with more
// manifest records than the repository index lists (MaxRecords) still
// serves its older manifests by digest — a multi-arch pull asks for its
// platform manifests by digest — through the UI index's record keys,
// each read from the PDS and checked; before, they were 404. Its tag list
// names the tags past the bound too.
func TestManifestsPastATruncatedIndexPullByDigest(t *testing.T) {
	d := storagetest.OpenDB(t, filepath.Join(t.TempDir(), "appview.db"))
	idx := index.New(d, index.Options{})
	t.Cleanup(func() { idx.Close(context.Background()) })
	env := newTestEnv(t, storagetest.EnvOptions{DB: d, Store: func(o *storage.Options) { o.Indexer = idx }})
	var digests []oci.Digest
	var bodies [][]byte
	for _, tag := range []string{"v1", "v2", "v3", "v4"} {
		dg, body := env.pushImage(t, env.alice, "alice.test/app", tag)
		digests, bodies = append(digests, dg), append(bodies, body)
	}

	// Another AppView whose repository index lists two manifests per account.
	bounded := func(hints storage.IndexHints) *testEnv {
		other := &testEnv{Env: env.Env, alice: env.alice, bob: env.bob}
		other.serve(t, env.NewStore(t, env.DB, func(o *storage.Options) {
			o.MaxRecords = 2
			o.IndexHints = hints
		}))
		return other
	}
	get := func(e *testEnv, repo string, dg oci.Digest) *http.Response {
		return e.call(t, storagetest.User{}, http.MethodGet, "/v2/"+repo+"/manifests/"+dg.String(), nil,
			map[string]string{"Accept": oci.MediaTypeOCIManifest})
	}
	without, missed := bounded(nil), 0
	for _, dg := range digests {
		resp := get(without, "alice.test/app", dg)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			missed++
		}
	}
	if missed != 2 {
		t.Fatalf("without hints %d of 4 manifests were 404, want the 2 past the bound", missed)
	}

	other := bounded(idx)
	for i, dg := range digests {
		resp := get(other, "alice.test/app", dg)
		expectStatus(t, resp, http.StatusOK)
		got, _ := io.ReadAll(resp.Body)
		if !bytes.Equal(got, bodies[i]) {
			t.Fatalf("manifest %d by digest: other bytes", i)
		}
	}
	// The hints are keys of one repository: another repository of the same
	// account does not serve the digest.
	expectStatus(t, get(other, "alice.test/other", digests[0]), http.StatusNotFound)

	// The tag list, past the bound, has the tags the UI index holds.
	tags := func(e *testEnv) []string {
		resp := e.call(t, storagetest.User{}, http.MethodGet, "/v2/alice.test/app/tags/list", nil, nil)
		expectStatus(t, resp, http.StatusOK)
		var l struct{ Tags []string }
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
			t.Fatal(err)
		}
		return l.Tags
	}
	if got := tags(without); len(got) != 2 {
		t.Fatalf("tags without hints %v, want the 2 the bound lets through", got)
	}
	if got := tags(other); !slices.Equal(got, []string{"v1", "v2", "v3", "v4"}) {
		t.Fatalf("tags with hints %v, want v1-v4", got)
	}

	// Deleting a manifest past the bound finds it the same way; it is gone.
	for _, dg := range digests {
		expectStatus(t, other.call(t, env.alice, http.MethodDelete, "/v2/alice.test/app/manifests/"+dg.String(), nil, nil), http.StatusAccepted)
		resp := get(other, "alice.test/app", dg)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET after DELETE: %d", resp.StatusCode)
		}
	}
}
