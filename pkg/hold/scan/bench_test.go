package scan

import (
	"testing"

	"atcr.io/pkg/oci"
)

// BenchmarkJobRoundTrip measures the queue's cost per scan, the scanning
// itself aside: Enqueue, Claim and Finish with a skipped result, which
// writes the scan record (one signed commit) in the real PDS.
func BenchmarkJobRoundTrip(b *testing.B) {
	e := newEnv(b)
	job := testJob(alice, 1)
	b.ResetTimer()
	for i := range b.N {
		job.Image.Digest = oci.FromBytes(oci.SHA256, []byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)})
		if _, err := e.q.Enqueue(b.Context(), job); err != nil {
			b.Fatal(err)
		}
		j, ok, _, err := e.q.tryClaim(b.Context(), "w")
		if err != nil || !ok {
			b.Fatalf("claim: %v %v", ok, err)
		}
		if err := e.q.Finish(b.Context(), "w", j.ID, Result{Status: StatusSkipped, Reason: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}
