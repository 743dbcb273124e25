package holdoci

import (
	"net/http"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/crew"
	"atcr.io/pkg/hold/gc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

func (e *testEnv) notifyDeleted(t testing.TB, caller syntax.DID, uri string) response {
	t.Helper()
	return e.post(t, caller, atcr.HoldNotifyManifestDeletedNSID, atcr.HoldNotifyManifestDeleted_Input{ManifestURI: uri})
}

func (e *testEnv) wantDeleted(t testing.TB, caller syntax.DID, uri string, want int64) {
	t.Helper()
	var out atcr.HoldNotifyManifestDeleted_Output
	e.call(t, caller, atcr.HoldNotifyManifestDeletedNSID, atcr.HoldNotifyManifestDeleted_Input{ManifestURI: uri}, &out)
	if out.LayersDeleted != want {
		t.Fatalf("notifyManifestDeleted %s: %d layers deleted, want %d", uri, out.LayersDeleted, want)
	}
}

// manifestsOf returns the manifest URIs of the layer records, with counts.
func (e *testEnv) manifestsOf(t testing.TB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range e.layerRecords(t) {
		out[r.Manifest]++
	}
	return out
}

// TestNotifyManifestDeletedFreesQuotaAndBlobs: alice's first manifest
// (config c, layers a and b) is gone from her PDS, her second (a) is not.
// The hold deletes the first's three records; the crew service's usage
// drops by c and b only (a is still hers); a second notification deletes
// nothing and does not ask the PDS. GC then reclaims c and b once they are
// past the grace window, and keeps a.
func TestNotifyManifestDeletedFreesQuotaAndBlobs(t *testing.T) {
	pds := newOwnerPDS(t)
	e := newEnv(t, withOwnerPDS(pds))
	members, err := crew.New(t.Context(), e.pds, crew.Options{Usage: e.layers, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c, a, b := e.putBlob(t, 80, 100), e.putBlob(t, 81, 2000), e.putBlob(t, 82, 3000)
	first, second := manifestURIOf(alice, "3kggggggggg22"), manifestURIOf(alice, "3kggggggggg33")
	e.notify(t, alice, notifyInput(first, "v1", c, a, b))
	e.notify(t, alice, notifyInput(second, "v2", oci.Digest{}, a))
	pds.remove(first) // first was deleted, second was not
	if used, err := members.Usage(t.Context(), alice); err != nil || used != 5100 {
		t.Fatalf("usage before: %d, %v; want 5100", used, err)
	}

	e.wantDeleted(t, alice, first, 3)
	if got := e.manifestsOf(t); len(got) != 1 || got[second] != 1 {
		t.Fatalf("layer records left: %v, want one of %s", got, second)
	}
	if used, err := members.Usage(t.Context(), alice); err != nil || used != 2000 {
		t.Fatalf("usage after: %d, %v; want 2000 (a, still in %s)", used, err, second)
	}

	calls := pds.callCount()
	e.wantDeleted(t, alice, first, 0)
	if pds.callCount() != calls {
		t.Fatal("a repeated notification asked the PDS again")
	}

	collect := func(now time.Time) gc.Report {
		t.Helper()
		col, err := gc.New(gc.Config{Records: e.pds, Blobs: e.svc, Pins: e.h, GracePeriod: time.Hour, Logger: quietLogger(),
			Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		report, err := col.Run(t.Context(), gc.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return report
	}
	if r := collect(time.Now()); r.Deleted != 0 || r.Kept != 2 || r.Referenced != 1 {
		t.Fatalf("GC inside the grace window: %+v, want c and b kept, a referenced", r)
	}
	if r := collect(time.Now().Add(2 * time.Hour)); r.Deleted != 2 || r.Referenced != 1 || r.FreedBytes != 3100 {
		t.Fatalf("GC past the grace window: %+v, want c and b (3100 bytes) deleted", r)
	}
	for d, want := range map[oci.Digest]bool{c: false, b: false, a: true} {
		_, err := e.svc.Stat(t.Context(), s3.BlobKey(d))
		if got := err == nil; got != want || (err != nil && !errorsIsNotFound(err)) {
			t.Errorf("blob %s present=%v (%v), want %v", d, got, err, want)
		}
	}
}

// TestNotifyManifestDeletedRefusals: nothing is deleted while the record
// is still on the owner's PDS (409), for a caller who neither owns the
// manifest nor is crew (403) [M3], an
// anonymous caller (401), a URI that is not a manifest (400), or when the
// owner's PDS fails or cannot be reached (502); once the PDS answers that
// the record is gone, the same call succeeds.
func TestNotifyManifestDeletedRefusals(t *testing.T) {
	pds := newOwnerPDS(t)
	e := newEnv(t, withOwnerPDS(pds))
	a := e.putBlob(t, 90, 10)
	uri := manifestURIOf(alice, "3khhhhhhhhh22")
	e.notify(t, alice, notifyInput(uri, "", oci.Digest{}, a))

	wantError(t, e.notifyDeleted(t, alice, uri), http.StatusConflict, atcr.ErrorManifestStillExists)
	pds.remove(uri)
	wantError(t, e.notifyDeleted(t, eve, uri), http.StatusForbidden, atcr.ErrorForbidden)
	wantError(t, e.notifyDeleted(t, "", uri), http.StatusUnauthorized, atcr.ErrorAuthRequired)
	wantError(t, e.notifyDeleted(t, alice, "at://"+alice.String()+"/"+atcr.TagNSID+"/app:v1"), http.StatusBadRequest, atcr.ErrorInvalidRequest)
	wantError(t, e.notifyDeleted(t, alice, "not a uri"), http.StatusBadRequest, atcr.ErrorInvalidRequest)
	wantError(t, e.post(t, alice, atcr.HoldNotifyManifestDeletedNSID, map[string]any{}), http.StatusBadRequest, atcr.ErrorInvalidRequest)

	pds.setFail(true)
	wantError(t, e.notifyDeleted(t, alice, uri), http.StatusBadGateway, atcr.ErrorUpstreamFailure)
	pds.setFail(false)
	pds.srv.Close() // unreachable
	wantError(t, e.notifyDeleted(t, alice, uri), http.StatusBadGateway, atcr.ErrorUpstreamFailure)
	if got := e.manifestsOf(t); got[uri] != 1 {
		t.Fatalf("refused notifications deleted records: %v", got)
	}
}

// TestNotifyManifestDeletedNeedsTheOwnersPDS: an owner whose DID does not
// resolve is a 502, and a hold without a directory cannot confirm at all
// (501); a user without layer records here gets 0 either way, without a
// lookup.
func TestNotifyManifestDeletedNeedsTheOwnersPDS(t *testing.T) {
	e := newEnv(t)
	a := e.putBlob(t, 95, 10)
	uri := manifestURIOf(alice, "3kiiiiiiiii22")
	e.notify(t, alice, notifyInput(uri, "", oci.Digest{}, a))
	e.owner.remove(uri)
	e.opts.Identity = identity.NewMockDirectory() // knows nobody
	e.restart(t)
	wantError(t, e.notifyDeleted(t, alice, uri), http.StatusBadGateway, atcr.ErrorUpstreamFailure)
	e.wantDeleted(t, bob, manifestURIOf(bob, "3kiiiiiiiii22"), 0)

	e.opts.Identity = nil
	e.restart(t)
	wantError(t, e.notifyDeleted(t, alice, uri), http.StatusNotImplemented, "MethodNotImplemented")
	if got := e.manifestsOf(t); got[uri] != 1 {
		t.Fatalf("records after refused notifications: %v", got)
	}
}

// TestNotifyManifestDeletedBatches: 250 layer records go in two commits
// (pds.MaxCommitOps = 200; the repository refuses larger ones).
func TestNotifyManifestDeletedBatches(t *testing.T) {
	pds := newOwnerPDS(t)
	e := newEnv(t, withOwnerPDS(pds))
	var layers []oci.Digest
	for i := range 250 {
		layers = append(layers, e.putBlob(t, uint64(2000+i), 16))
	}
	uri := manifestURIOf(alice, "3kjjjjjjjjj22")
	e.notify(t, alice, notifyInput(uri, "", oci.Digest{}, layers...))
	e.owner.remove(uri)
	before := e.pds.LastSeq()
	e.wantDeleted(t, alice, uri, 250)
	if commits := e.pds.LastSeq() - before; commits != 2 {
		t.Fatalf("%d commits for 250 deletions, want 2", commits)
	}
	if n := len(e.layerRecords(t)); n != 0 {
		t.Fatalf("%d layer records left", n)
	}
}

// TestNotifyManifestDeletedByCrewOrOwnerOnly [M3]: a crew member may
// report another user's deleted manifest (the owner's PDS still decides);
// someone outside the crew may report only their own, which costs one
// indexed lookup and answers 0 when the hold has nothing of theirs.
func TestNotifyManifestDeletedByCrewOrOwnerOnly(t *testing.T) {
	e := newEnv(t)
	a := e.putBlob(t, 96, 10)
	uri := manifestURIOf(alice, "3kooooooooo22")
	e.notify(t, alice, notifyInput(uri, "", oci.Digest{}, a))
	wantError(t, e.notifyDeleted(t, bob, uri), http.StatusConflict, atcr.ErrorManifestStillExists)
	e.owner.remove(uri)
	wantError(t, e.notifyDeleted(t, eve, uri), http.StatusForbidden, atcr.ErrorForbidden)
	calls := e.owner.callCount()
	e.wantDeleted(t, eve, manifestURIOf(eve, "3kooooooooo22"), 0)
	if e.owner.callCount() != calls {
		t.Fatal("an outsider's notification for a manifest without records reached a PDS")
	}
	e.wantDeleted(t, bob, uri, 1)
}

// TestConfirmManifestGoneNeedsRecordNotFound [L11]: a PDS answering a bare
// 404 (a proxy, a wrong path, a PDS that does not host the repository)
// does not count as "the record is gone": the layer records stay and the
// answer is 502.
func TestConfirmManifestGoneNeedsRecordNotFound(t *testing.T) {
	e := newEnv(t)
	a := e.putBlob(t, 97, 10)
	uri := manifestURIOf(alice, "3kppppppppp22")
	e.notify(t, alice, notifyInput(uri, "", oci.Digest{}, a))
	e.owner.setBare404(true)
	wantError(t, e.notifyDeleted(t, alice, uri), http.StatusBadGateway, atcr.ErrorUpstreamFailure)
	if got := e.manifestsOf(t); got[uri] != 1 {
		t.Fatalf("a bare 404 freed the records: %v", got)
	}
	e.owner.setBare404(false)
	e.owner.remove(uri)
	e.wantDeleted(t, alice, uri, 1)
}
