//go:build e2e

package e2e

import (
	"testing"

	"atcr.io/pkg/oci"
)

// TestFaultS3Down cuts the hold's S3 server off — refused, then
// blackholed — for the hold and for everyone its presigned URLs send
// there, while a push starts, while a push puts its manifest, while an
// upload session sends its last part (the AppView's PUT to a presigned
// URL) and during a pull. The registry answers 502/503 with Retry-After
// and a message naming the hold (S3 is behind it) within faultBound; the
// hold itself answers 502/503 with Retry-After and a message naming its
// storage, never 500; nothing is recorded for the refused pushes, and
// once S3 is back the session's PUT completes, the pushes succeed and
// every image pulls back bit-identical.
func TestFaultS3Down(t *testing.T) {
	w := newFaultWorld(t)
	repo := faultRepo("s3")
	name := "/v2/" + w.Name + "/" + repo
	pushTok := w.tokenFor(t, repo, "pull,push")
	pullTok := w.tokenFor(t, repo, "pull")
	v1 := newFaultImage(t, repo, "v1", 4096)
	requireSuccess(t, "push v1", w.push(t, pushTok, v1))
	layer := oci.FromBytes(oci.SHA256, v1.Blobs[1])

	pushed := []faultImage{v1}
	for _, mode := range []faultMode{gateRefused, gateBlackholed} {
		t.Run(mode.String(), func(t *testing.T) {
			cold := newFaultImage(t, repo, "cold-"+mode.String(), 4096)
			warm := newFaultImage(t, repo, "warm-"+mode.String(), 4096)
			w.uploadBlobs(t, pushTok, warm)
			pending := holdRandom(t, 4096)
			session := w.openUpload(t, pushTok, name, pending)

			before := w.Hold.S3.faults()
			w.Hold.S3.set(t, mode)
			var push, put, finish, pull, hold *faultAnswer
			faultConcurrently(
				func() { push = w.push(t, pushTok, cold) },
				func() { put = w.putManifest(pushTok, warm) },
				func() { finish = w.finishBlob(pushTok, session, pending) },
				func() { pull = w.pull(t, pullTok, v1) },
				func() { hold = w.Hold.getBlob(layer) },
			)
			w.Hold.S3.set(t, gateOpen)
			requireFaultAnswer(t, "push", push, "hold")
			requireFaultAnswer(t, "manifest push", put, "hold")
			requireFaultAnswer(t, "last part and completion of an upload", finish, "hold")
			requireFaultAnswer(t, "pull", pull, "hold")
			requireFaultAnswer(t, "the hold's own getBlob", hold, "storage")
			if mode != gateRefused && w.Hold.S3.faults() == before {
				t.Errorf("no request met the %s S3", mode)
			}
			w.requireRecords(t, repo, pushed...)

			requireSuccess(t, "the same PUT of the upload, S3 back", w.finishBlob(pushTok, session, pending))
			requireSuccess(t, "pull the uploaded blob", w.pullBlob(t, pullTok, name, pending))
			requireSuccess(t, "the same push, S3 back", w.push(t, pushTok, cold))
			requireSuccess(t, "the same manifest push, S3 back", w.push(t, pushTok, warm))
			pushed = append(pushed, cold, warm)
		})
	}
	w.requireRecords(t, repo, pushed...)
	for _, img := range pushed {
		requireSuccess(t, "pull "+img.Tag, w.pull(t, pullTok, img))
	}
}
