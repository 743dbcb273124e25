package holdoci

import (
	"errors"
	"net/http"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// The sizes notifyManifest looks up while the record is read are used only
// while the blob guard's exclusive side has not been taken since: a blob
// the collector deleted meanwhile is looked up again (and found missing).
func TestPrestatsUsedOnlyWhileNothingWasDeleted(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	d := e.putBlob(t, 70, 1234)
	blobs := []blobRef{{digest: d}}
	pre := e.h.prestat(ctx, blobs).wait()
	if pre.sizes[d.String()] != 1234 {
		t.Fatalf("prestat: %v, want %s of 1234 bytes", pre.sizes, d)
	}

	// Removed behind the guard's back (no collector does that): the
	// prestat still stands, which shows it is used.
	if err := e.svc.Delete(ctx, s3.BlobKey(d)); err != nil {
		t.Fatal(err)
	}
	if err := e.h.statBlobs(ctx, blobs, pre); err != nil || blobs[0].size != 1234 {
		t.Fatalf("stat with a current prestat: %v, size %d; want the prestat's 1234", err, blobs[0].size)
	}

	// The collector's way: under the exclusive side.
	d = e.putBlob(t, 71, 99)
	blobs = []blobRef{{digest: d}}
	pre = e.h.prestat(ctx, blobs).wait()
	unlock := e.h.LockBlobs()
	if err := e.svc.Delete(ctx, s3.BlobKey(d)); err != nil {
		t.Fatal(err)
	}
	unlock()
	release := e.h.guard.share()
	err := e.h.statBlobs(ctx, blobs, pre)
	release()
	var xerr *xrpc.Error
	if !errors.As(err, &xerr) || xerr.Name != atcr.ErrorBlobNotFound {
		t.Fatalf("stat after a collection deleted the blob: %v, want %s", err, atcr.ErrorBlobNotFound)
	}
}

// A blob the record names and the caller did not announce is looked up
// all the same; what the caller announced and the record does not name
// counts for nothing.
func TestNotifyManifestTakesBlobsFromTheRecordOnly(t *testing.T) {
	e := newEnv(t)
	a, b := e.putBlob(t, 72, 100), e.putBlob(t, 73, 200)
	uri := manifestURIOf(alice, "3kppppppppp22")
	e.owner.putManifest(t, uri, notifyInput(uri, "", oci.Digest{}, a, b))
	var out atcr.HoldNotifyManifest_Output
	e.call(t, alice, atcr.HoldNotifyManifestNSID, notifyInput(uri, "", oci.Digest{}, a), &out)
	if out.LayersRecorded != 2 || *out.QuotaUsed != 300 {
		t.Fatalf("announced a, record a and b: %+v (used %d); want both recorded, 300 bytes", out, *out.QuotaUsed)
	}

	other := manifestURIOf(alice, "3kppppppppp33")
	missing := oci.FromBytes(oci.SHA256, []byte("never stored"))
	e.owner.putManifest(t, other, notifyInput(other, "", oci.Digest{}, a, missing))
	wantError(t, e.post(t, alice, atcr.HoldNotifyManifestNSID, notifyInput(other, "", oci.Digest{}, a)),
		http.StatusBadRequest, atcr.ErrorBlobNotFound)
}
