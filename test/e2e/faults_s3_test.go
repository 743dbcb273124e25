//go:build e2e

package e2e

import (
	"testing"

	"atcr.io/pkg/oci"
)

// TestFaultS3Down cuts the hold's S3 server off — refused, then
// blackholed — for the hold and for everyone its presigned URLs send there
// (the AppView's part PUTs, the clients' blob GETs), in a storage round
// (storageRound): the registry answers as for a failing hold, since S3 is
// behind it. The hold itself, asked directly for a blob meanwhile, answers
// 502/503 with Retry-After and a message naming its storage, within
// faultBound, never 500.
func TestFaultS3Down(t *testing.T) {
	s := newFaultScene(t, "s3")
	layer := oci.FromBytes(oci.SHA256, s.V1.Blobs[1])
	for _, mode := range []faultMode{gateRefused, gateBlackholed} {
		t.Run(mode.String(), func(t *testing.T) {
			var hold *faultAnswer
			s.storageRound(t, s.Hold.S3, mode, func() { hold = s.Hold.getBlob(layer) })
			requireFaultAnswer(t, "the hold's own getBlob", hold, "storage")
		})
	}
	s.requireIntact(t)
}
