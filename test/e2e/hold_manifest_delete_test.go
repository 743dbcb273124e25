//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
)

// TestHoldManifestDeleteFreesQuota: alice pushes an image of fresh random
// layers with crane into a fresh repository; her usage on the hold that
// got it (getQuota, her service token) includes its blobs, and the hold
// has a layer record per blob for the manifest's record. While the record
// exists, notifyManifestDeleted is refused (409 ManifestStillExists, the
// hold really asked her PDS). DELETE of the manifest by digest through the
// registry API answers 202; then her usage drops by exactly the image's
// blob sizes (nothing else of hers references them), the hold lists no
// layer record of that manifest any more, and a repeated notification
// deletes nothing.
//
// Not parallel: the exact drop in usage needs no other push of alice's to
// the same hold while it runs (parallel tests wait until it has finished).
func TestHoldManifestDeleteFreesQuota(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	base := env(t, "ATCR_APPVIEW_URL")
	acct := regAlice(t)
	alice := holdAlice(t)
	tools := newRegTools(t)
	tools.login(t, registry, acct)
	repo := regRepo(acct, "manifestdelete/app")
	repoPath := strings.TrimPrefix(repo, acct.Handle+"/")

	img := regImage(t, "amd64", 96<<10, 48<<10)
	tools.run(t, "crane", "push", regLayout(t, filepath.Join(tools.dir, "image"), img), registry+"/"+repo+":v1")
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	blobBytes := m.Config.Size
	for _, l := range m.Layers {
		blobBytes += l.Size
	}

	manifestURI, holdDID := holdManifestRecord(t, acct.DID, repoPath, digest.String())
	hold := holdByDID(t, holdDID)
	before := holdUsage(t, hold, alice)
	if before < blobBytes {
		t.Fatalf("usage after the push is %d bytes, less than the image's %d", before, blobBytes)
	}
	if n := holdLayerRecordsOf(t, hold, manifestURI); n != 1+len(m.Layers) {
		t.Fatalf("%d layer records for %s after the push, want %d (config and layers)", n, manifestURI, 1+len(m.Layers))
	}
	holdRequireStatus(t, "notifyManifestDeleted while the record exists",
		hold.call(t, &alice, http.MethodPost, atcr.HoldNotifyManifestDeletedNSID, nil,
			atcr.HoldNotifyManifestDeleted_Input{ManifestURI: manifestURI}),
		http.StatusConflict, atcr.ErrorManifestStillExists)

	token := regToken(t, base, acct, "repository:"+repo+":pull,push,delete")
	if r := regDo(t, base, http.MethodDelete, "/v2/"+repo+"/manifests/"+digest.String(), token, nil, nil); r.Status != http.StatusAccepted {
		t.Fatalf("DELETE manifest %s: %d %s, want 202", digest, r.Status, r.Body)
	}
	regDo(t, base, http.MethodGet, "/v2/"+repo+"/manifests/"+digest.String(), token, nil, nil).
		requireError(t, "GET of the deleted manifest", http.StatusNotFound, "MANIFEST_UNKNOWN")

	want := before - blobBytes
	deadline := time.Now().Add(30 * time.Second)
	for used := holdUsage(t, hold, alice); used != want; used = holdUsage(t, hold, alice) {
		if time.Now().After(deadline) {
			t.Fatalf("usage %d bytes 30s after the DELETE, want %d (%d - %d)", used, want, before, blobBytes)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if n := holdLayerRecordsOf(t, hold, manifestURI); n != 0 {
		t.Fatalf("%d layer records of %s left on %s after the DELETE", n, manifestURI, hold.DID)
	}
	var out atcr.HoldNotifyManifestDeleted_Output
	hold.call(t, &alice, http.MethodPost, atcr.HoldNotifyManifestDeletedNSID, nil,
		atcr.HoldNotifyManifestDeleted_Input{ManifestURI: manifestURI}).decode(t, "repeated notifyManifestDeleted", &out)
	if out.LayersDeleted != 0 {
		t.Fatalf("a repeated notification deleted %d layer records", out.LayersDeleted)
	}
}

// holdManifestRecord finds the io.atcr.manifest record of digest in the
// repository path on did's PDS and returns its AT-URI and holdDid.
func holdManifestRecord(t *testing.T, did, repoPath, digest string) (uri, holdDID string) {
	t.Helper()
	for _, rec := range regRecordsOf(regRecords(t, did, atcr.ManifestNSID), repoPath) {
		if rec.Value["digest"] == digest {
			hold, _ := rec.Value["holdDid"].(string)
			if hold == "" {
				t.Fatalf("manifest record %s names no hold", rec.URI)
			}
			return rec.URI, hold
		}
	}
	t.Fatalf("no io.atcr.manifest record of %s in %s", digest, repoPath)
	return "", ""
}

// holdByDID is the stack's hold with that DID.
func holdByDID(t *testing.T, did string) holdTarget {
	t.Helper()
	for _, h := range []holdTarget{holdPublic(t), holdPrivate(t)} {
		if h.DID == did {
			return h
		}
	}
	t.Fatalf("%s is none of the stack's holds", did)
	return holdTarget{}
}

// holdUsage is u's usage on the hold (io.atcr.hold.getQuota with u's token).
func holdUsage(t *testing.T, hold holdTarget, u holdUser) int64 {
	t.Helper()
	var out atcr.HoldGetQuota_Output
	hold.call(t, &u, http.MethodGet, atcr.HoldGetQuotaNSID, url.Values{"userDid": {u.DID.String()}}, nil).
		decode(t, "getQuota", &out)
	return out.Used
}

// holdLayerRecordsOf counts the io.atcr.hold.layer records in the hold's
// repository (com.atproto.repo.listRecords, public) whose manifest is uri.
func holdLayerRecordsOf(t *testing.T, hold holdTarget, uri string) int {
	t.Helper()
	n, cursor := 0, ""
	for range 1000 { // 100 000 records at most
		q := url.Values{"repo": {hold.DID}, "collection": {atcr.HoldLayerNSID}, "limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := holdDo(t, http.MethodGet, hold.xrpcURL("com.atproto.repo.listRecords", q), "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("listRecords %s on %s: %s", atcr.HoldLayerNSID, hold.DID, r)
		}
		var page struct {
			Cursor  string `json:"cursor"`
			Records []struct {
				Value struct {
					Manifest string `json:"manifest"`
				} `json:"value"`
			} `json:"records"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatalf("listRecords on %s: %v", hold.DID, err)
		}
		for _, rec := range page.Records {
			if rec.Value.Manifest == uri {
				n++
			}
		}
		if page.Cursor == "" || len(page.Records) == 0 {
			return n
		}
		cursor = page.Cursor
	}
	t.Fatalf("listRecords on %s did not end after 1000 pages", hold.DID)
	return 0
}
