//go:build unix

package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/holdcontract"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/serviceauth"
)

// The running atcr-hold keeps the XRPC contract the AppView relies on, with
// real service-auth tokens (the caller's DID document fetched through the
// hold's identity directory) and the embedded S3's presigned URLs.
func TestHoldContract(t *testing.T) {
	alice, outsider := newUser(t), newUser(t)
	port := freePort(t)
	h := startHold(t, holdConfig(t, port, t.TempDir(), "  allow_all_crew: true\n"), port)
	if status, out := h.call(alice, "POST", "io.atcr.hold.requestCrew", "", ""); status != 200 {
		t.Fatalf("requestCrew: %d %v\n%s", status, out, h.stderr)
	}
	holdcontract.Run(t, contractTarget(h, alice, outsider))
	wantScanRecords(t, h)
	h.stop()
}

// wantScanRecords waits for the in-process scan worker to record the
// manifests the suite announced (and did not delete again). The test hold
// has no vulnerability database, so each record says skipped: no
// vulnerability database (docs/scanning.md).
func wantScanRecords(t *testing.T, h *holdProc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var recs map[string]string
	for {
		if recs = h.records(atcr.HoldScanNSID); len(recs) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(recs) == 0 {
		t.Fatalf("no io.atcr.hold.scan record after the suite's pushes\n%s", h.stderr)
	}
	for uri := range recs {
		parsed, _ := syntax.ParseATURI(uri)
		q := url.Values{"repo": {h.did()}, "collection": {atcr.HoldScanNSID}, "rkey": {parsed.RecordKey().String()}}
		value, _ := h.getJSON("/xrpc/com.atproto.repo.getRecord?" + q.Encode())["value"].(map[string]any)
		reason, _ := value["statusReason"].(string)
		if value["status"] != "skipped" || !strings.Contains(reason, "no vulnerability database") {
			t.Errorf("scan record %s = %v, want skipped: no vulnerability database", uri, value)
		}
	}
}

// contractTarget describes the running hold with u as its writer and
// outsider (never crew) as the outsider.
func contractTarget(h *holdProc, u, outsider user) holdcontract.Target {
	did := syntax.DID(h.did())
	return holdcontract.Target{
		URL:      h.url,
		DID:      did,
		Writer:   u.did,
		Outsider: outsider.did,
		PublishManifest: func(t *testing.T, uri string, rec atcr.Manifest) {
			u.publish(t, uri, rec)
		},
		Authorization: func(t *testing.T, caller syntax.DID, lxm syntax.NSID) string {
			t.Helper()
			key := u.key
			switch caller {
			case u.did:
			case outsider.did:
				key = outsider.key
			default:
				t.Fatalf("no signing key for %s", caller)
			}
			tok, err := serviceauth.Mint(key, caller, did, lxm.String(), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + tok
		},
	}
}
