package layerindex

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/sqlite"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/oci"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openRepo(t *testing.T, dir string, idx *Index) *pds.PDS {
	t.Helper()
	opts := pds.Options{DataDir: dir, PublicURL: "https://hold.example.com", Logger: quiet(), Validate: schema.ValidateRecord}
	if idx != nil {
		opts.Indexes = []pds.Index{idx}
	}
	p, err := pds.Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("pds.Open: %v", err)
	}
	return p
}

func digestOf(i int) string {
	return oci.FromBytes(oci.SHA256, fmt.Appendf(nil, "blob-%d", i)).String()
}

func manifestOf(user syntax.DID, n int) syntax.ATURI {
	return syntax.ATURI(fmt.Sprintf("at://%s/%s/3kman%08d", user, atcr.ManifestNSID, n))
}

func layer(t *testing.T, user syntax.DID, manifest syntax.ATURI, digest string, size int64) map[string]any {
	t.Helper()
	m, err := atcr.ToMap(&atcr.HoldLayer{Digest: digest, Size: size, MediaType: "application/octet-stream",
		Manifest: manifest.String(), Repository: "app", UserDID: user.String(), CreatedAt: "2026-03-01T12:00:00.000Z"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const (
	alice = syntax.DID("did:plc:alice0000000000000000000")
	bob   = syntax.DID("did:plc:bob00000000000000000000")
)

// bruteUsage is what the crew service computed before the index: a scan of
// every layer record summing distinct digests per user.
func bruteUsage(t *testing.T, p *pds.PDS) map[syntax.DID]int64 {
	t.Helper()
	seen := map[string]bool{}
	out := map[syntax.DID]int64{}
	cursor := ""
	for {
		recs, next, err := p.ListRecords(t.Context(), atcr.HoldLayerNSID, 100, cursor, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			u, d := r.Value["userDid"].(string), r.Value["digest"].(string)
			if !seen[u+" "+d] {
				seen[u+" "+d] = true
				out[syntax.DID(u)] += r.Value["size"].(int64)
			}
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

func wantUsage(t *testing.T, idx *Index, p *pds.PDS) {
	t.Helper()
	brute := bruteUsage(t, p)
	for _, u := range []syntax.DID{alice, bob} {
		got, err := idx.Usage(t.Context(), u)
		if err != nil || got != brute[u] {
			t.Fatalf("usage of %s: %d (%v), a scan says %d", u, got, err, brute[u])
		}
	}
}

// TestIndexFollowsCommits: random creates and deletes of layer records by
// two users over shared digests keep the index's usage equal to a full
// scan, and its per-manifest and per-digest answers right.
func TestIndexFollowsCommits(t *testing.T) {
	idx := New()
	p := openRepo(t, t.TempDir(), idx)
	defer p.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var live []pds.Record
	for round := range 30 {
		var writes []pds.Write
		if len(live) > 0 && rng.IntN(3) == 0 {
			n := rng.IntN(len(live)) + 1
			for _, r := range live[:n] {
				writes = append(writes, pds.Write{Op: pds.Delete, Collection: atcr.HoldLayerNSID, RKey: r.RKey})
			}
		} else {
			for i := range rng.IntN(8) + 1 {
				user := []syntax.DID{alice, bob}[rng.IntN(2)]
				d := rng.IntN(10)
				writes = append(writes, pds.Write{Op: pds.Create, Collection: atcr.HoldLayerNSID,
					Record: layer(t, user, manifestOf(user, round*10+i%3), digestOf(d), int64(100*(d+1)))})
			}
		}
		if _, err := p.ApplyWrites(t.Context(), writes); err != nil {
			t.Fatal(err)
		}
		recs, _, err := p.ListRecords(t.Context(), atcr.HoldLayerNSID, 100, "", false)
		if err != nil {
			t.Fatal(err)
		}
		live = recs
		wantUsage(t, idx, p)
	}
	for _, r := range live {
		m := syntax.ATURI(r.Value["manifest"].(string))
		keys, err := idx.ManifestRecordKeys(t.Context(), m)
		if err != nil || !containsKey(keys, r.RKey) {
			t.Fatalf("ManifestRecordKeys(%s) = %v, %v; want it to contain %s", m, keys, err, r.RKey)
		}
		ds, err := idx.ManifestDigests(t.Context(), m)
		if err != nil || !ds[r.Value["digest"].(string)] {
			t.Fatalf("ManifestDigests(%s) = %v, %v", m, ds, err)
		}
		if ok, err := idx.Referenced(t.Context(), r.Value["digest"].(string)); !ok || err != nil {
			t.Fatalf("Referenced(%s) = %v, %v", r.Value["digest"], ok, err)
		}
	}
	if ok, err := idx.Referenced(t.Context(), digestOf(99)); ok || err != nil {
		t.Fatalf("Referenced(unknown) = %v, %v", ok, err)
	}
}

func containsKey(keys []syntax.RecordKey, k syntax.RecordKey) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// TestIndexRebuiltWhenMissingOrBehind: records written without the index
// (an older binary) are indexed at the next Open; so are records written
// after the index's state was lost.
func TestIndexRebuiltWhenMissingOrBehind(t *testing.T) {
	dir := t.TempDir()
	p := openRepo(t, dir, nil)
	for i := range 5 {
		if _, _, err := p.CreateRecord(t.Context(), atcr.HoldLayerNSID, "", layer(t, alice, manifestOf(alice, i%2), digestOf(i), 10)); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()

	idx := New()
	p = openRepo(t, dir, idx)
	if used, err := idx.Usage(t.Context(), alice); err != nil || used != 50 {
		t.Fatalf("usage after rebuild: %d, %v; want 50", used, err)
	}
	p.Close()

	// Behind: a commit the index did not see (its state row rolled back).
	p = openRepo(t, dir, nil)
	if _, _, err := p.CreateRecord(t.Context(), atcr.HoldLayerNSID, "", layer(t, bob, manifestOf(bob, 1), digestOf(7), 7)); err != nil {
		t.Fatal(err)
	}
	p.Close()
	idx = New()
	p = openRepo(t, dir, idx)
	defer p.Close()
	if used, err := idx.Usage(t.Context(), bob); err != nil || used != 7 {
		t.Fatalf("bob's usage after catching up: %d, %v; want 7", used, err)
	}
	wantUsage(t, idx, p)
}

// TestIndexStateRowLost: a database whose index tables were emptied by
// hand is rebuilt once its state row is gone.
func TestIndexStateRowLost(t *testing.T) {
	dir := t.TempDir()
	idx := New()
	p := openRepo(t, dir, idx)
	if _, _, err := p.CreateRecord(t.Context(), atcr.HoldLayerNSID, "", layer(t, alice, manifestOf(alice, 1), digestOf(1), 10)); err != nil {
		t.Fatal(err)
	}
	p.Close()
	db, err := sqlite.Open(context.Background(), dir+"/repo.sqlite", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM layer_records; DELETE FROM layer_usage; DELETE FROM layer_user_blobs; DELETE FROM index_state`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	idx = New()
	p = openRepo(t, dir, idx)
	defer p.Close()
	if used, err := idx.Usage(t.Context(), alice); err != nil || used != 10 {
		t.Fatalf("usage: %d, %v; want 10", used, err)
	}
}
