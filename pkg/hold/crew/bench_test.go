package crew

import (
	"context"
	"fmt"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/pds"
)

// BenchmarkUsageScan measures the full layer scan a quota check pays after
// each commit, over 10,000 layer records of 100 users.
func BenchmarkUsageScan(b *testing.B) {
	ctx := context.Background()
	p := openPDS(b, "")
	s := newService(b, p, Settings{Owner: ownerDID}, nil)
	const records = 10_000
	for start := 0; start < records; start += pds.MaxCommitOps {
		var batch []pds.Write
		for i := start; i < start+pds.MaxCommitOps && i < records; i++ {
			user := syntax.DID(fmt.Sprintf("did:plc:user%020d", i%100))
			rec, err := atcr.ToMap(atcr.HoldLayer{Digest: digestN(i), Size: int64(i), MediaType: "x",
				Manifest: "at://" + user.String() + "/io.atcr.manifest/abc", UserDID: user.String(),
				CreatedAt: "2026-01-02T03:04:05.000Z"})
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, pds.Write{Op: pds.Create, Collection: layerCollection, Record: rec})
		}
		if _, err := p.ApplyWrites(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		all, err := s.scanUsage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if all["did:plc:user00000000000000000001"] == 0 {
			b.Fatal("user 1 has no usage")
		}
	}
	b.ReportMetric(float64(records), "records")
}

// BenchmarkCanWrite measures an access check of a crew member (index lookup
// plus one record read).
func BenchmarkCanWrite(b *testing.B) {
	ctx := context.Background()
	s := newService(b, openPDS(b, ""), Settings{Owner: ownerDID, AllowAllCrew: true}, nil)
	if _, _, err := s.Join(ctx, aliceDID, "", nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.CanWrite(ctx, aliceDID); err != nil {
			b.Fatal(err)
		}
	}
}
