package holdoci

import (
	"fmt"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/crew"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/oci"
)

// seedLayerRecords writes n layer records of other users' manifests straight
// into the repository, in full commits (outside the measured time).
func seedLayerRecords(b *testing.B, e *testEnv, n int) {
	b.Helper()
	writes := make([]pds.Write, 0, pds.MaxCommitOps)
	flush := func() {
		if len(writes) == 0 {
			return
		}
		if _, err := e.pds.ApplyWrites(b.Context(), writes); err != nil {
			b.Fatal(err)
		}
		writes = writes[:0]
	}
	for i := range n {
		user := fmt.Sprintf("did:plc:seed%021d", i/50)
		rec, err := atcr.ToMap(&atcr.HoldLayer{
			Digest: oci.FromBytes(oci.SHA256, fmt.Appendf(nil, "seed-%d", i)).String(), Size: 1000,
			MediaType: layerType, Manifest: manifestURIOf(syntax.DID(user), fmt.Sprintf("3kseed%07d", i/10)),
			Repository: "seed", UserDID: user, CreatedAt: "2026-03-01T12:00:00.000Z",
		})
		if err != nil {
			b.Fatal(err)
		}
		writes = append(writes, pds.Write{Op: pds.Create, Collection: layerCollection, Record: rec})
		if len(writes) == pds.MaxCommitOps {
			flush()
		}
	}
	flush()
}

// BenchmarkNotifyManifest measures io.atcr.hold.notifyManifest of a new
// manifest (config + two layers, all stored) over HTTP with the crew
// service as quota, on a hold that already has 0, 10,000 or 100,000 layer
// records. Each iteration announces a new manifest, so it writes three
// records in one commit.
func BenchmarkNotifyManifest(b *testing.B) {
	for _, existing := range []int{0, 10_000, 100_000} {
		b.Run(fmt.Sprintf("records=%d", existing), func(b *testing.B) {
			owner := newOwnerPDS(b)
			e := newEnv(b, withOwnerPDS(owner))
			members, err := crew.New(b.Context(), e.pds, crew.Options{Usage: e.layers, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			e.h.quota = members
			seedLayerRecords(b, e, existing)
			config, l1, l2 := e.putBlob(b, 70, 100), e.putBlob(b, 71, 200), e.putBlob(b, 72, 300)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				uri := manifestURIOf(alice, fmt.Sprintf("3kbench%06d", i))
				in := notifyInput(uri, "v1", config, l1, l2)
				owner.putManifest(b, uri, in)
				b.StartTimer()
				if out := e.notify(b, alice, in); out.LayersRecorded != 3 {
					b.Fatalf("recorded %d", out.LayersRecorded)
				}
			}
		})
	}
}
