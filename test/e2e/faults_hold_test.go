//go:build e2e

package e2e

import (
	"testing"
)

// TestFaultHoldDown cuts the hold off — refused (nothing listens behind
// Caddy, which answers 502), then blackholed (the hold accepts and never
// answers) — in a storage round (storageRound): while a push starts,
// while a pushed image's manifest is put, while an upload sends its last
// part and completes, and during a pull.
func TestFaultHoldDown(t *testing.T) {
	s := newFaultScene(t, "hold")
	for _, mode := range []faultMode{gateRefused, gateBlackholed} {
		t.Run(mode.String(), func(t *testing.T) {
			s.storageRound(t, s.Hold.Gate, mode)
		})
	}
	s.requireIntact(t)
}

// storageRound is a round of TestFaultHoldDown and TestFaultS3Down: with
// gate in mode, a push that starts (its HEADs and uploads need the hold), a
// manifest push whose blobs are uploaded (the hold must be told of the
// manifest), the PUT of an upload whose bytes wait in AppView memory (the
// last part, then the completion) and a pull (its blobs' redirects come
// from the hold) each answer 502/503 with Retry-After and a message naming
// the hold, within faultBound; also runs alongside them, under the same
// fault. A manifest the hold could not be told of is withdrawn: no record,
// no tag. Once the gate is open again the upload session is still there,
// so the same PUT completes, and the same pushes succeed.
func (s *faultScene) storageRound(t *testing.T, gate *faultGate, mode faultMode, also ...func()) {
	t.Helper()
	cold := s.image(t, "cold-"+mode.String(), 4096)
	warm := s.image(t, "warm-"+mode.String(), 4096)
	s.uploadBlobs(t, s.PushTok, warm)
	pending := holdRandom(t, 4096)
	session := s.openUpload(t, s.PushTok, s.Path, pending)

	before := gate.faults()
	gate.set(t, mode)
	var push, put, finish, pull *faultAnswer
	faultConcurrently(append(also,
		func() { push = s.push(t, s.PushTok, cold) },
		func() { put = s.putManifest(s.PushTok, warm) },
		func() { finish = s.finishBlob(s.PushTok, session, pending) },
		func() { pull = s.pull(t, s.PullTok, s.V1) },
	)...)
	gate.set(t, gateOpen)
	requireFaultAnswer(t, "push", push, "hold")
	requireFaultAnswer(t, "manifest push", put, "hold")
	requireFaultAnswer(t, "last part and completion of an upload", finish, "hold")
	requireFaultAnswer(t, "pull", pull, "hold")
	if mode != gateRefused && gate.faults() == before {
		t.Errorf("no request met the %s %s", mode, gate.name)
	}
	s.requireRecords(t, s.Repo, s.Pushed...)

	requireSuccess(t, "the same PUT of the upload", s.finishBlob(s.PushTok, session, pending))
	requireSuccess(t, "pull the uploaded blob", s.pullBlob(t, s.PullTok, s.Path, pending))
	s.pushOK(t, "the same push", cold, warm)
}
