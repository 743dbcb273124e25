//go:build e2e

package e2e

import (
	"testing"
)

// TestFaultPDSDown cuts the user's PDS off from the registry — refused,
// then blackholed (it accepts and never answers) — during a push, a pull
// and a login, and checks each answer: 502/503 with Retry-After and a
// message naming the PDS, within faultBound; nothing recorded for the
// refused pushes; and once the PDS is back, the same pushes succeed and
// every image pulls back bit-identical.
//
// Each round starts from an AppView restart, so nothing the PDS said
// before is cached: a push needs a service token from the PDS for its
// first hold call, a pull reads the tag record. A second push of the
// round has everything cached but the PDS's write, and meets the fault
// where its manifest is written (uploadBlob, the first write).
func TestFaultPDSDown(t *testing.T) {
	w := newFaultWorld(t)
	repo := faultRepo("pds")
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
			before := w.PDS.faults()
			w.PDS.set(t, mode)
			var push, pull, login *faultAnswer
			faultConcurrently(
				func() { push = w.push(t, pushTok, cold) },
				func() { pull = w.pull(t, pullTok, v1) },
				func() { login = w.login(t, password, repo) },
			)
			w.PDS.set(t, gateOpen)
			requireFaultAnswer(t, "push", push, "PDS")
			requireFaultAnswer(t, "pull", pull, "PDS")
			requireFaultAnswer(t, "/auth/token", login, "PDS")
			if mode != gateRefused && w.PDS.faults() == before {
				t.Errorf("no request met the %s PDS", mode)
			}
			w.requireRecords(t, repo, pushed...)
			requireSuccess(t, "the same push, PDS back", w.push(t, pushTok, cold))
			pushed = append(pushed, cold)
			w.requireLoginWorks(t, password, repo)

			// Service tokens, stats and the repository index are cached now.
			warm := newFaultImage(t, repo, "warm-"+mode.String(), 4096)
			w.uploadBlobs(t, pushTok, warm)
			w.PDS.set(t, mode)
			put := w.putManifest(pushTok, warm)
			w.PDS.set(t, gateOpen)
			requireFaultAnswer(t, "manifest push", put, "PDS")
			w.requireRecords(t, repo, pushed...)
			requireSuccess(t, "the same manifest push, PDS back", w.push(t, pushTok, warm))
			pushed = append(pushed, warm)
		})
	}
	w.requireRecords(t, repo, pushed...)
	for _, img := range pushed {
		requireSuccess(t, "pull "+img.Tag, w.pull(t, pullTok, img))
	}
}
