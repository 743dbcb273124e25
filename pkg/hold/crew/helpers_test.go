package crew

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/hold/layerindex"
	"atcr.io/pkg/hold/pds"
)

const (
	ownerDID = syntax.DID("did:plc:ownerownerownerownerowne")
	aliceDID = syntax.DID("did:plc:alicealicealicealicealic")
	bobDID   = syntax.DID("did:plc:bobbobbobbobbobbobbobbobb")
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openPDS opens a real PDS with lexicon validation in dir (a fresh temp dir
// when empty), closed at the end of the test.
func openPDS(t testing.TB, dir string) *pds.PDS {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	idx := layerindex.New()
	p, err := pds.Open(context.Background(), pds.Options{
		DataDir: dir, PublicURL: "https://hold.example.com", Logger: quietLogger(), Validate: schema.ValidateRecord,
		Indexes: []pds.Index{idx},
	})
	if err != nil {
		t.Fatalf("pds.Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	layerIndexes.Store(p, idx)
	return p
}

// layerIndexes finds the layer index openPDS attached to a repository.
var layerIndexes sync.Map // *pds.PDS → *layerindex.Index

func layerIndexOf(t testing.TB, p *pds.PDS) *layerindex.Index {
	t.Helper()
	idx, ok := layerIndexes.Load(p)
	if !ok {
		t.Fatal("repository not opened by openPDS")
	}
	return idx.(*layerindex.Index)
}

func newService(t testing.TB, p *pds.PDS, st Settings, tiers *Tiers) *Service {
	t.Helper()
	s, err := New(context.Background(), p, Options{Settings: st, Tiers: tiers, Usage: layerIndexOf(t, p), Logger: quietLogger()})
	if err != nil {
		t.Fatalf("crew.New: %v", err)
	}
	return s
}

func mustTiers(t testing.TB, yaml string) *Tiers {
	t.Helper()
	tiers, err := ParseTiers([]byte(yaml))
	if err != nil {
		t.Fatalf("ParseTiers: %v", err)
	}
	return tiers
}

// addLayer writes an io.atcr.hold.layer record as notifyManifest would and
// returns its record key.
func addLayer(t testing.TB, p *pds.PDS, user syntax.DID, digest string, size int64) syntax.RecordKey {
	t.Helper()
	rec, err := atcr.ToMap(atcr.HoldLayer{
		Digest: digest, Size: size, MediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
		Manifest: "at://" + user.String() + "/io.atcr.manifest/abc", UserDID: user.String(),
		CreatedAt: "2026-01-02T03:04:05.000Z",
	})
	if err != nil {
		t.Fatal(err)
	}
	uri, _, err := p.CreateRecord(context.Background(), layerCollection, "", rec)
	if err != nil {
		t.Fatalf("create layer record: %v", err)
	}
	return uri.RecordKey()
}

// digestN is a valid-looking sha256 digest distinct for each n.
func digestN(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 64)
	for i := range b {
		b[i] = hex[(n>>(4*(i%8)))&0xf]
	}
	return "sha256:" + string(b)
}

// crewCount returns how many crew records the repository holds.
func crewCount(t testing.TB, p *pds.PDS) int {
	t.Helper()
	recs, _, err := p.ListRecords(context.Background(), crewCollection, 100, "", false)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}
