//go:build e2e

package e2e

import (
	"testing"
)

// TestFaultHoldDown cuts the hold off — refused (nothing listens behind
// Caddy, which answers 502), then blackholed (the hold accepts and never
// answers) — while a push starts, while a push that uploaded its blobs
// puts its manifest, while an upload session sends its last part, and
// during a pull; it checks each answer: 502/503 with Retry-After and a
// message naming the hold, within faultBound. A manifest the hold could
// not be told about is withdrawn (no manifest record, no tag); the upload
// session survives, so the same PUT completes once the hold is back; the
// pushes then succeed and every image pulls back bit-identical.
func TestFaultHoldDown(t *testing.T) {
	w := newFaultWorld(t)
	repo := faultRepo("hold")
	name := "/v2/" + w.Name + "/" + repo
	pushTok := w.tokenFor(t, repo, "pull,push")
	pullTok := w.tokenFor(t, repo, "pull")
	v1 := newFaultImage(t, repo, "v1", 4096)
	requireSuccess(t, "push v1", w.push(t, pushTok, v1))

	pushed := []faultImage{v1}
	for _, mode := range []faultMode{gateRefused, gateBlackholed} {
		t.Run(mode.String(), func(t *testing.T) {
			cold := newFaultImage(t, repo, "cold-"+mode.String(), 4096)
			warm := newFaultImage(t, repo, "warm-"+mode.String(), 4096)
			w.uploadBlobs(t, pushTok, warm)
			// An upload session with its bytes in AppView memory: its PUT
			// sends them as the last part and completes.
			pending := holdRandom(t, 4096)
			session := w.openUpload(t, pushTok, name, pending)

			before := w.Hold.Gate.faults()
			w.Hold.Gate.set(t, mode)
			var push, put, finish, pull *faultAnswer
			faultConcurrently(
				func() { push = w.push(t, pushTok, cold) },
				func() { put = w.putManifest(pushTok, warm) },
				func() { finish = w.finishBlob(pushTok, session, pending) },
				func() { pull = w.pull(t, pullTok, v1) },
			)
			w.Hold.Gate.set(t, gateOpen)
			requireFaultAnswer(t, "push", push, "hold")
			requireFaultAnswer(t, "manifest push", put, "hold")
			requireFaultAnswer(t, "last part and completion of an upload", finish, "hold")
			requireFaultAnswer(t, "pull", pull, "hold")
			if mode != gateRefused && w.Hold.Gate.faults() == before {
				t.Errorf("no request met the %s hold", mode)
			}
			w.requireRecords(t, repo, pushed...)

			requireSuccess(t, "the same PUT of the upload, hold back", w.finishBlob(pushTok, session, pending))
			requireSuccess(t, "pull the uploaded blob", w.pullBlob(t, pullTok, name, pending))
			requireSuccess(t, "the same push, hold back", w.push(t, pushTok, cold))
			requireSuccess(t, "the same manifest push, hold back", w.push(t, pushTok, warm))
			pushed = append(pushed, cold, warm)
		})
	}
	w.requireRecords(t, repo, pushed...)
	for _, img := range pushed {
		requireSuccess(t, "pull "+img.Tag, w.pull(t, pullTok, img))
	}
}
