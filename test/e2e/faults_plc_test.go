//go:build e2e

package e2e

import (
	"testing"
)

// TestFaultPLCDown cuts the PLC directory off — refused, then blackholed —
// from an AppView that has not resolved the user yet (a restart empties
// its identity cache), during a push, a pull and a login, and checks each
// answer: 502/503 with Retry-After and a message naming identity
// resolution, within faultBound; nothing recorded; and once the PLC is
// back, the same push succeeds and the image pulls back bit-identical.
//
// The directory remembers a failed lookup for two minutes (its error
// TTL), so the AppView recovers from a PLC outage at most two minutes
// after the PLC does; the test restarts its AppView instead of waiting.
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
			w.AppView.restart(t)
			cold := newFaultImage(t, repo, "cold-"+mode.String(), 4096)
			password := w.unusedPassword(t)
			before := w.PLC.faults()
			w.PLC.set(t, mode)
			var push, pull, login *faultAnswer
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
			requireSuccess(t, "the same push, PLC back", w.push(t, pushTok, cold))
			pushed = append(pushed, cold)
			w.requireLoginWorks(t, password, repo)
		})
	}
	w.requireRecords(t, repo, pushed...)
	for _, img := range pushed {
		requireSuccess(t, "pull "+img.Tag, w.pull(t, pullTok, img))
	}
}
