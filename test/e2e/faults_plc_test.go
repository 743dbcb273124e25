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
	s := newFaultScene(t, "plc")
	for _, mode := range []faultMode{gateRefused, gateBlackholed} {
		t.Run(mode.String(), func(t *testing.T) {
			// The AppView knows the user (the last push resolved them);
			// the hold, restarted, does not. Pulls need no identity the
			// AppView lacks (the hold serves public blobs to anyone).
			s.Hold.restart(t)
			viaHold := s.image(t, "hold-"+mode.String(), 4096)
			holdTok := s.User.token(t, s.Hold.DID, atcr.HoldInitiateUploadNSID, time.Time{})
			before := s.PLC.faults()
			s.PLC.set(t, mode)
			var push, hold, pull *faultAnswer
			faultConcurrently(
				func() { push = s.push(t, s.PushTok, viaHold) },
				func() { hold = s.Hold.initiate(holdTok) },
				func() { pull = s.pull(t, s.PullTok, s.V1) },
			)
			s.PLC.set(t, gateOpen)
			requireFaultAnswer(t, "push the hold cannot verify", push, "hold")
			requireFaultAnswer(t, "the hold's own initiateUpload", hold, "identity", "PLC", "DID")
			requireSuccess(t, "pull from an AppView that knows the user", pull)
			if mode != gateRefused && s.PLC.faults() == before {
				t.Errorf("no request met the %s PLC", mode)
			}

			// Neither knows the user.
			s.AppView.restart(t)
			s.Hold.restart(t)
			cold, password := s.coldRound(t, s.PLC, mode, "identity resolution")

			s.AppView.restart(t) // forget the failed lookups
			s.Hold.restart(t)
			s.pushOK(t, "the same push, PLC back", cold, viaHold)
			s.requireLoginWorks(t, password, s.Repo)
		})
	}
	s.requireIntact(t)
}
