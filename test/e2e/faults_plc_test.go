//go:build e2e

package e2e

import (
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
)

// TestFaultPLCDown cuts the PLC directory off — refused, then blackholed —
// from an AppView and a hold that have not resolved the user yet (a
// restart empties their identity caches), during a push, a pull and a
// login, and checks each answer: 502/503 with Retry-After and a message
// naming identity resolution, within faultBound; nothing recorded; and
// once the PLC is back, the same push succeeds and the image pulls back
// bit-identical. A hold restarted during the outage meets it on its own
// while the AppView still knows the user: the hold resolves the issuer of
// every service token, and an issuer it cannot resolve for an outage is
// not a bad token (a 401 would reach the user as "the hold does not let
// this account write"), so both the push and the hold's own answer must
// be 502/503.
//
// The directories remember a failed lookup for two minutes (their error
// TTL), so the servers recover from a PLC outage at most two minutes
// after the PLC does; the test restarts them instead of waiting.
func TestFaultPLCDown(t *testing.T) {
	w := newFaultWorld(t)
	repo := faultRepo("plc")
	pushTok := w.tokenFor(t, repo, "pull,push")
	pullTok := w.tokenFor(t, repo, "pull")
	v1 := newFaultImage(t, repo, "v1", 4096)
	requireSuccess(t, "push v1", w.push(t, pushTok, v1))

	pushed := []faultImage{v1}
	for _, mode := range []faultMode{gateRefused, gateBlackholed} {
		t.Run(mode.String(), func(t *testing.T) {
			// The AppView knows the user (the last push resolved them);
			// the hold, restarted, does not. Pulls need no identity the
			// AppView lacks (the hold serves public blobs to anyone).
			w.Hold.restart(t)
			viaHold := newFaultImage(t, repo, "hold-"+mode.String(), 4096)
			holdTok := w.User.token(t, w.Hold.DID, atcr.HoldInitiateUploadNSID, time.Time{})
			before := w.PLC.faults()
			w.PLC.set(t, mode)
			var push, hold, pull *faultAnswer
			faultConcurrently(
				func() { push = w.push(t, pushTok, viaHold) },
				func() { hold = w.Hold.initiate(holdTok) },
				func() { pull = w.pull(t, pullTok, v1) },
			)
			w.PLC.set(t, gateOpen)
			requireFaultAnswer(t, "push the hold cannot verify", push, "hold")
			requireFaultAnswer(t, "the hold's own initiateUpload", hold, "identity", "PLC", "DID")
			requireSuccess(t, "pull from an AppView that knows the user", pull)

			// Neither knows the user.
			w.AppView.restart(t)
			w.Hold.restart(t)
			cold := newFaultImage(t, repo, "cold-"+mode.String(), 4096)
			password := w.unusedPassword(t)
			w.PLC.set(t, mode)
			var login *faultAnswer
			faultConcurrently(
				func() { push = w.push(t, pushTok, cold) },
				func() { pull = w.pull(t, pullTok, v1) },
				func() { login = w.login(t, password, repo) },
			)
			w.PLC.set(t, gateOpen)
			requireFaultAnswer(t, "push", push, "identity resolution")
			requireFaultAnswer(t, "pull", pull, "identity resolution")
			requireFaultAnswer(t, "/auth/token", login, "identity resolution")
			if mode != gateRefused && w.PLC.faults() == before {
				t.Errorf("no request met the %s PLC", mode)
			}
			w.requireRecords(t, repo, pushed...)

			w.AppView.restart(t) // forget the failed lookups
			w.Hold.restart(t)
			requireSuccess(t, "the same push, PLC back", w.push(t, pushTok, cold))
			requireSuccess(t, "the same push through the hold, PLC back", w.push(t, pushTok, viaHold))
			pushed = append(pushed, cold, viaHold)
			w.requireLoginWorks(t, password, repo)
		})
	}
	w.requireRecords(t, repo, pushed...)
	for _, img := range pushed {
		requireSuccess(t, "pull "+img.Tag, w.pull(t, pullTok, img))
	}
}
