package gc

import (
	"fmt"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/oci"
)

// BenchmarkDryRun measures one collection over 10,000 layer records and
// 1,000 blobs (half of them old orphans) on the embedded S3 server.
func BenchmarkDryRun(b *testing.B) {
	e := newEnv(b)
	const records, blobs = 10_000, 1_000
	for start := 0; start < records; start += pds.MaxCommitOps {
		var batch []pds.Write
		for i := start; i < start+pds.MaxCommitOps; i++ {
			rec, err := atcr.ToMap(atcr.HoldLayer{Digest: oci.FromBytes(oci.SHA256, fmt.Appendf(nil, "blob %d", i)).String(),
				Size: 1, MediaType: "x", Manifest: "at://did:plc:alicealicealicealicealic/io.atcr.manifest/abc",
				UserDID: "did:plc:alicealicealicealicealic", CreatedAt: "2026-01-02T03:04:05.000Z"})
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, pds.Write{Op: pds.Create, Collection: layerCollection, Record: rec})
		}
		if _, err := e.pds.ApplyWrites(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	for i := range blobs {
		if i%2 == 0 {
			e.putBlob(fmt.Sprintf("blob %d", i))
		} else {
			e.putOldBlob(fmt.Sprintf("orphan %d", i))
		}
	}
	c := e.collector(nil)
	b.ResetTimer()
	for b.Loop() {
		rep, err := c.Run(b.Context(), Options{DryRun: true})
		if err != nil || rep.Scanned != blobs || rep.Deleted != blobs/2 {
			b.Fatalf("%+v %v", rep, err)
		}
	}
}
