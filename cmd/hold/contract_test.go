//go:build unix

package main

import (
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
	h.stop()
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
