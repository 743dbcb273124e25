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
	s := newFaultScene(t, "pds")
	for _, mode := range []faultMode{gateRefused, gateBlackholed} {
		t.Run(mode.String(), func(t *testing.T) {
			s.AppView.restart(t)
			cold, password := s.coldRound(t, s.PDS, mode, "PDS")
			s.pushOK(t, "the same push, PDS back", cold)
			s.requireLoginWorks(t, password, s.Repo)

			// Service tokens, stats and the repository index are cached now.
			warm := s.image(t, "warm-"+mode.String(), 4096)
			s.uploadBlobs(t, s.PushTok, warm)
			s.PDS.set(t, mode)
			put := s.putManifest(s.PushTok, warm)
			s.PDS.set(t, gateOpen)
			requireFaultAnswer(t, "manifest push", put, "PDS")
			s.requireRecords(t, s.Repo, s.Pushed...)
			s.pushOK(t, "the same manifest push, PDS back", warm)
		})
	}
	s.requireIntact(t)
}

// coldRound is the round of TestFaultPDSDown and TestFaultPLCDown that
// meets the fault from cold caches: with gate in mode, a push of a new
// image, a pull of v1 and a login with an app password the AppView has not
// seen each answer 502/503 with Retry-After and a message naming upstream,
// within faultBound, and nothing is recorded. It returns the image and the
// password, for the test to use again once the upstream is back.
func (s *faultScene) coldRound(t *testing.T, gate *faultGate, mode faultMode, upstream string) (faultImage, string) {
	t.Helper()
	cold := s.image(t, "cold-"+mode.String(), 4096)
	password := s.unusedPassword(t)
	before := gate.faults()
	gate.set(t, mode)
	var push, pull, login *faultAnswer
	faultConcurrently(
		func() { push = s.push(t, s.PushTok, cold) },
		func() { pull = s.pull(t, s.PullTok, s.V1) },
		func() { login = s.login(t, password, s.Repo) },
	)
	gate.set(t, gateOpen)
	requireFaultAnswer(t, "push", push, upstream)
	requireFaultAnswer(t, "pull", pull, upstream)
	requireFaultAnswer(t, "/auth/token", login, upstream)
	if mode != gateRefused && gate.faults() == before {
		t.Errorf("no request met the %s %s", mode, gate.name)
	}
	s.requireRecords(t, s.Repo, s.Pushed...)
	return cold, password
}
