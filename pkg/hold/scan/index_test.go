package scan

import (
	"context"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// indexRecord is an index record naming children (os "linux" unless the
// platform says otherwise).
func indexRecord(digest oci.Digest, children map[oci.Digest]string) *atcr.Manifest {
	rec := &atcr.Manifest{Digest: digest.String(), MediaType: oci.MediaTypeOCIIndex, Repository: "app", SchemaVersion: 2}
	for d, os := range children {
		rec.Manifests = append(rec.Manifests, atcr.Manifest_ManifestReference{
			Digest: d.String(), MediaType: oci.MediaTypeOCIManifest, Size: 100,
			Platform: &atcr.Manifest_Platform{OS: os, Architecture: "amd64"},
		})
	}
	return rec
}

func TestIndexRecordSumsItsLinuxPlatformManifests(t *testing.T) {
	e := newEnv(t)
	in := &Intake{Queue: e.q}
	amd, arm, win := testJob(alice, 30), testJob(alice, 31), testJob(alice, 32)
	// amd64 was pushed (and queued) before the index, as pushes go; arm64
	// is known but was never scanned (scanning was off for it); the
	// Windows child is not scanned at all.
	e.enqueue(t, amd)
	if _, err := e.q.db.Exec(`INSERT INTO manifests (manifest, digest, owner, repository, image, verified_at)
		SELECT ?, ?, owner, repository, REPLACE(image, ?, ?), 0 FROM manifests WHERE digest = ?`,
		arm.Manifest, arm.Image.Digest.String(), amd.Image.Digest.String(), arm.Image.Digest.String(), amd.Image.Digest.String()); err != nil {
		t.Fatal(err)
	}
	idx := oci.FromBytes(oci.SHA256, []byte("index"))
	uri := syntax.ATURI("at://" + alice + "/" + atcr.ManifestNSID + "/3kindexindex2")
	rec := indexRecord(idx, map[oci.Digest]string{amd.Image.Digest: "linux", arm.Image.Digest: "linux", win.Image.Digest: "windows"})
	if err := in.ManifestVerified(t.Context(), uri, rec); err != nil {
		t.Fatalf("ManifestVerified: %v", err)
	}
	if st := e.state(t, idx); st.State != StateQueued {
		t.Errorf("index state %+v, want queued (its children are)", st)
	}
	if _, ok := e.record(t, idx); ok {
		t.Fatal("index record written before its platform manifests were scanned")
	}
	got := map[oci.Digest]bool{}
	for range 2 {
		j := e.mustClaim(t, "w1")
		got[j.Image.Digest] = true
		if st := e.state(t, idx); st.State != StateScanning {
			t.Errorf("index state while a child is scanned: %+v", st)
		}
		if err := e.q.Finish(t.Context(), "w1", j.ID, completed(int64(len(got)), `{}`, `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if !got[amd.Image.Digest] || !got[arm.Image.Digest] || got[win.Image.Digest] {
		t.Fatalf("scanned %v, want the two linux children", got)
	}
	r := e.mustRecord(t, idx)
	if r.Status != "completed" || r.Critical != 3 || r.High != 4 || r.Total != 23 || r.Manifest != uri.String() || r.VulnReportBlob != nil {
		t.Errorf("index record = %+v, want the children's sums", r)
	}
	if !strings.Contains(r.StatusReason, "2 scanned platform manifests") {
		t.Errorf("index reason %q", r.StatusReason)
	}
	if st := e.state(t, idx); st.State != StateNone {
		t.Errorf("index state after its children = %+v", st)
	}
}

func TestIndexWithoutLinuxManifestsIsSkipped(t *testing.T) {
	e := newEnv(t)
	in := &Intake{Queue: e.q}
	idx := oci.FromBytes(oci.SHA256, []byte("win-index"))
	uri := syntax.ATURI("at://" + alice + "/" + atcr.ManifestNSID + "/3kindexindex3")
	if err := in.ManifestVerified(t.Context(), uri, indexRecord(idx, map[oci.Digest]string{testJob(alice, 40).Image.Digest: "windows"})); err != nil {
		t.Fatal(err)
	}
	if r := e.mustRecord(t, idx); r.Status != "skipped" || r.StatusReason != reasonIndexNoLinux {
		t.Errorf("record %q %q", r.Status, r.StatusReason)
	}
}

func TestIntakeHonoursScanOnPush(t *testing.T) {
	e := newEnv(t)
	in := &Intake{Queue: e.q, ScanOnPush: func(_ context.Context, user syntax.DID) (bool, error) { return user == alice, nil }}
	for _, owner := range []string{alice, bob} {
		job := testJob(owner, 41)
		job.Image.Digest = oci.FromBytes(oci.SHA256, []byte(owner))
		rec := &atcr.Manifest{Digest: job.Image.Digest.String(), MediaType: oci.MediaTypeOCIManifest, Repository: "app",
			Layers: []atcr.Manifest_BlobReference{{Digest: job.Image.Layers[0].Digest.String(), MediaType: oci.MediaTypeOCILayerGzip, Size: 3}}}
		if err := in.ManifestVerified(t.Context(), syntax.ATURI(job.Manifest), rec); err != nil {
			t.Fatal(err)
		}
		want := StateQueued
		if owner == bob {
			want = StateNone
		}
		if st := e.state(t, job.Image.Digest); st.State != want {
			t.Errorf("%s: state %s, want %s", owner, st.State, want)
		}
	}
}

func TestForgetDeletesRecordWhenNoManifestNamesTheDigest(t *testing.T) {
	e := newEnv(t)
	a := testJob(alice, 50)
	b := a
	b.Owner, b.Manifest = bob, strings.Replace(a.Manifest, alice, bob, 1)
	e.finishOne(t, a, Result{Status: StatusSkipped})
	e.enqueue(t, b) // the same image pushed by bob: queued for a rescan
	if known, err := e.q.Forget(t.Context(), a.Manifest); err != nil || !known {
		t.Fatalf("Forget alice's: %v %v", known, err)
	}
	if _, ok := e.record(t, a.Image.Digest); !ok {
		t.Fatal("record deleted while bob's manifest still names the digest")
	}
	if st := e.state(t, a.Image.Digest); st.State != StateQueued {
		t.Errorf("bob's job dropped: %+v", st)
	}
	if _, err := e.q.Forget(t.Context(), b.Manifest); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.record(t, a.Image.Digest); ok {
		t.Error("record kept after every manifest naming it was deleted")
	}
	if st := e.state(t, a.Image.Digest); st.State != StateNone {
		t.Errorf("job kept: %+v", st)
	}
	if known, err := e.q.Forget(t.Context(), b.Manifest); err != nil || known {
		t.Errorf("second Forget: %v %v, want unknown", known, err)
	}
}

func TestRescansRequeueEveryScannedManifest(t *testing.T) {
	e := newEnv(t)
	jobs := []Job{testJob(alice, 60), testJob(alice, 61), testJob(bob, 62)}
	for _, j := range jobs {
		e.finishOne(t, j, Result{Status: StatusSkipped})
	}
	n, err := e.q.RequestRescan(t.Context())
	if err != nil || n != 3 {
		t.Fatalf("RequestRescan = %d, %v; want 3", n, err)
	}
	e.reopen(t) // the marks survive a restart
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.q.RunRescans(ctx, 60_000) }()
	seen := map[oci.Digest]bool{}
	for range jobs {
		j, err := e.q.Claim(t.Context(), "w1")
		if err != nil {
			t.Fatal(err)
		}
		seen[j.Image.Digest] = true
	}
	cancel()
	<-done
	for _, j := range jobs {
		if !seen[j.Image.Digest] {
			t.Errorf("%s not rescanned", j.Image.Digest)
		}
	}
	if n, _ := e.q.RequestRescan(t.Context()); n != 0 {
		t.Errorf("RequestRescan with every digest in flight or unscanned marked %d", n)
	}
}
