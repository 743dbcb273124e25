package crew

import (
	"context"
	"fmt"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/pds"
)

// BenchmarkUsage measures a quota usage read over 10,000 layer records of
// 100 users (it was a scan of all of them after every commit; now one row
// of the layer index).
func BenchmarkUsage(b *testing.B) {
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
		used, err := s.Usage(ctx, "did:plc:user00000000000000000001")
		if err != nil {
			b.Fatal(err)
		}
		if used == 0 {
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
