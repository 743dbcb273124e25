package holdoci

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// withScans hands verified manifests to a real scan queue (over the env's
// PDS); users for whom scanOnPush is false are not scanned.
func withScans(q **scan.Queue, scanOnPush func(syntax.DID) bool) func(*envConfig) {
	return func(c *envConfig) {
		prev := c.modify
		c.modify = func(o *Options) {
			if prev != nil {
				prev(o)
			}
			queue, err := scan.OpenQueue(context.Background(), scan.QueueOptions{
				DataDir: o.DataDir, Records: &scan.Publisher{Repo: o.PDS}, Logger: quietLogger(), Now: o.Now,
			})
			if err != nil {
				panic(err)
			}
			*q = queue
			o.Scans = &scan.Intake{Queue: queue, ScanOnPush: func(_ context.Context, user syntax.DID) (bool, error) {
				return scanOnPush(user), nil
			}}
		}
	}
}

func scanState(t testing.TB, q *scan.Queue, d oci.Digest) string {
	t.Helper()
	st, err := q.State(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	return st.State
}

func scanRecord(t testing.TB, e *testEnv, d oci.Digest) (atcr.HoldScan, bool) {
	t.Helper()
	m, _, err := e.pds.GetRecord(t.Context(), syntax.NSID(atcr.HoldScanNSID), scan.RecordKey(d))
	if err != nil {
		return atcr.HoldScan{}, false
	}
	var rec atcr.HoldScan
	if err := atcr.FromMap(m, &rec); err != nil {
		t.Fatal(err)
	}
	return rec, true
}

// finishScans runs every due job to a skipped result.
func finishScans(t testing.TB, q *scan.Queue) {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		j, err := q.Claim(ctx, "test")
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Finish(t.Context(), "test", j.ID, scan.Result{Status: scan.StatusSkipped, Reason: "test", ScannerVersion: "test"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNotifyManifestQueuesAScanUnlessTheTierSaysNo(t *testing.T) {
	var q *scan.Queue
	e := newEnv(t, withScans(&q, func(user syntax.DID) bool { return user != bob }))
	t.Cleanup(func() { q.Close() })
	cfg, layer := e.putBlob(t, 1, 100), e.putBlob(t, 2, 200)

	in := notifyInput(manifestURIOf(alice, "3kscanscanaa2"), "v1", cfg, layer)
	e.notify(t, alice, in)
	d, _ := oci.ParseDigest(in.ManifestDigest)
	if got := scanState(t, q, d); got != scan.StateQueued {
		t.Fatalf("after alice's push scan state %q, want queued", got)
	}
	j, err := q.Claim(t.Context(), "w")
	if err != nil {
		t.Fatal(err)
	}
	if j.Owner != alice.String() || j.Manifest != in.ManifestURI || j.Image.Config.Digest != cfg ||
		len(j.Image.Layers) != 1 || j.Image.Layers[0].Digest != layer {
		t.Errorf("job = %+v", j)
	}

	in = notifyInput(manifestURIOf(bob, "3kscanscanbb2"), "v1", cfg, layer)
	out := e.notify(t, bob, in)
	d, _ = oci.ParseDigest(in.ManifestDigest)
	if got := scanState(t, q, d); got != scan.StateNone {
		t.Errorf("bob's tier has scan_on_push false, yet scan state %q", got)
	}
	if out.LayersRecorded != 2 {
		t.Errorf("bob's push recorded %d layers", out.LayersRecorded)
	}
}

func TestNotifyManifestSucceedsWhenQueueingFails(t *testing.T) {
	var q *scan.Queue
	e := newEnv(t, withScans(&q, func(syntax.DID) bool { return true }))
	q.Close() // every enqueue now fails
	cfg := e.putBlob(t, 3, 100)
	in := notifyInput(manifestURIOf(alice, "3kscanscancc2"), "", cfg)
	if r := e.publishAndPost(t, alice, in); r.status != http.StatusOK {
		t.Fatalf("push with a broken scan queue: %d %s", r.status, r.body)
	}
}

func TestNotifyIndexScansItsPlatformManifestsAndDeletionDropsScans(t *testing.T) {
	var q *scan.Queue
	e := newEnv(t, withScans(&q, func(syntax.DID) bool { return true }))
	t.Cleanup(func() { q.Close() })
	cfg, layer := e.putBlob(t, 4, 100), e.putBlob(t, 5, 200)
	child := notifyInput(manifestURIOf(alice, "3kscanchild22"), "", cfg, layer)
	e.notify(t, alice, child)
	childDigest, _ := oci.ParseDigest(child.ManifestDigest)

	indexURI := manifestURIOf(alice, "3kscanindex22")
	indexDigest := oci.FromBytes(oci.SHA256, []byte(indexURI))
	e.owner.putRecord(t, indexURI, &atcr.Manifest{
		Digest: indexDigest.String(), MediaType: oci.MediaTypeOCIIndex, Repository: "app", SchemaVersion: 2,
		CreatedAt: "2026-03-01T12:00:00.000Z", HoldDID: testHoldDID,
		Manifests: []atcr.Manifest_ManifestReference{{Digest: childDigest.String(), MediaType: oci.MediaTypeOCIManifest, Size: 10,
			Platform: &atcr.Manifest_Platform{OS: "linux", Architecture: "amd64"}}},
	})
	var out atcr.HoldNotifyManifest_Output
	e.call(t, alice, atcr.HoldNotifyManifestNSID, atcr.HoldNotifyManifest_Input{
		Repository: "app", ManifestURI: indexURI, ManifestDigest: indexDigest.String(), MediaType: oci.MediaTypeOCIIndex,
		Layers: []atcr.HoldNotifyManifest_Descriptor{},
	}, &out)
	if got := scanState(t, q, indexDigest); got != scan.StateQueued {
		t.Fatalf("index scan state %q, want queued (its platform manifest is)", got)
	}
	finishScans(t, q)
	rec, ok := scanRecord(t, e, indexDigest)
	if !ok || rec.Status != "skipped" || rec.Manifest != indexURI {
		t.Fatalf("index record = %+v (%v)", rec, ok)
	}
	if _, ok := scanRecord(t, e, childDigest); !ok {
		t.Fatal("no record for the platform manifest")
	}

	// The index has no layer records; its deletion still drops its scan
	// record, once the owner's PDS confirms it is gone.
	if r := e.notifyDeleted(t, alice, indexURI); r.status != http.StatusConflict {
		t.Errorf("deleting an index its PDS still serves: %d, want 409", r.status)
	}
	e.owner.remove(indexURI)
	e.wantDeleted(t, alice, indexURI, 0)
	if _, ok := scanRecord(t, e, indexDigest); ok {
		t.Error("the deleted index's scan record is still there")
	}
	e.owner.remove(child.ManifestURI)
	e.wantDeleted(t, alice, child.ManifestURI, 2)
	if _, ok := scanRecord(t, e, childDigest); ok {
		t.Error("the deleted manifest's scan record is still there")
	}
}
