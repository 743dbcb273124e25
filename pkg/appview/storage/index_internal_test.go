package storage

import (
	"fmt"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// bigIndex is an index of n manifest records of one repository, spread
// over two holds, as a busy CI account's would be.
func bigIndex(n int) (*repoIndex, oci.Digest) {
	idx := &repoIndex{manifests: map[string]*pdsread.ManifestRecord{}, tags: map[string]*pdsread.TagRecord{}}
	clock := syntax.NewTIDClock(0)
	var last oci.Digest
	for i := range n {
		d := oci.FromBytes(oci.SHA256, []byte(fmt.Sprint(i)))
		hold := "did:web:hold-a.example"
		if i%2 == 1 {
			hold = "did:web:hold-b.example"
		}
		rkey := clock.Next().String()
		idx.putManifest(&pdsread.ManifestRecord{RKey: rkey, URI: pdsread.ManifestURI("did:plc:alice", rkey), Digest: d,
			Value: atcr.Manifest{Repository: "app", Digest: d.String(), HoldDID: hold}})
		last = d
	}
	return idx, last
}

func BenchmarkIndexHolds(b *testing.B) {
	idx, _ := bigIndex(10_000)
	b.ReportAllocs()
	for b.Loop() {
		if got := idx.holds("app"); len(got) != 2 {
			b.Fatalf("holds = %v", got)
		}
	}
}

func BenchmarkIndexByDigest(b *testing.B) {
	idx, d := bigIndex(10_000)
	b.ReportAllocs()
	for b.Loop() {
		if got := idx.byDigest("app", d); len(got) != 1 {
			b.Fatalf("byDigest = %d records", len(got))
		}
	}
}

// TestIndexHoldsComputedOnce checks that a pull's repeated question "which
// holds has this repository used" is answered from the cache while no
// manifest changes: recomputing it scans and sorts every record (8.7 ms
// per blob request at 10,000 records, BenchmarkIndexHolds).
func TestIndexHoldsComputedOnce(t *testing.T) {
	idx, _ := bigIndex(1_000)
	first := idx.holds("app")
	if allocs := testing.AllocsPerRun(10, func() { idx.holds("app") }); allocs != 0 {
		t.Fatalf("holds of an unchanged index allocated %.0f times per call: recomputed", allocs)
	}
	if len(first) != 2 || first[0] != "did:web:hold-b.example" {
		t.Fatalf("holds = %v, want hold-b (newest manifest) first", first)
	}
}

// TestIndexTracksManifestChanges checks that the digest lookup and the
// holds cache follow every change of the manifest records.
func TestIndexTracksManifestChanges(t *testing.T) {
	idx := &repoIndex{manifests: map[string]*pdsread.ManifestRecord{}, tags: map[string]*pdsread.TagRecord{}}
	d1 := oci.FromBytes(oci.SHA256, []byte("one"))
	d2 := oci.FromBytes(oci.SHA256, []byte("two"))
	rec := func(rkey, repo string, d oci.Digest, hold string) *pdsread.ManifestRecord {
		return &pdsread.ManifestRecord{RKey: rkey, Digest: d, Value: atcr.Manifest{Repository: repo, Digest: d.String(), HoldDID: hold}}
	}
	digests := func(repo string, d oci.Digest) []string {
		var out []string
		for _, r := range idx.byDigest(repo, d) {
			out = append(out, r.RKey)
		}
		return out
	}

	idx.putManifest(rec("3kaaaaaaaaaa2", "app", d1, "did:web:a.example"))
	idx.putManifest(rec("3kaaaaaaaaab2", "app", d1, "did:web:b.example"))
	idx.putManifest(rec("3kaaaaaaaaac2", "other", d1, "did:web:c.example"))
	if got := digests("app", d1); fmt.Sprint(got) != "[3kaaaaaaaaab2 3kaaaaaaaaaa2]" {
		t.Fatalf("byDigest(app, d1) = %v, want both records of app, newest first", got)
	}
	if got := idx.holds("app"); fmt.Sprint(got) != "[did:web:b.example did:web:a.example]" {
		t.Fatalf("holds(app) = %v", got)
	}

	// A record rewritten under its key with another digest and hold.
	idx.putManifest(rec("3kaaaaaaaaab2", "app", d2, "did:web:d.example"))
	if got := digests("app", d1); fmt.Sprint(got) != "[3kaaaaaaaaaa2]" {
		t.Fatalf("after rewrite, byDigest(app, d1) = %v", got)
	}
	if got := digests("app", d2); fmt.Sprint(got) != "[3kaaaaaaaaab2]" {
		t.Fatalf("after rewrite, byDigest(app, d2) = %v", got)
	}
	if got := idx.holds("app"); fmt.Sprint(got) != "[did:web:d.example did:web:a.example]" {
		t.Fatalf("after rewrite, holds(app) = %v", got)
	}

	idx.removeManifest("3kaaaaaaaaaa2")
	idx.removeManifest("3kaaaaaaaaaz2") // absent: nothing happens
	if got := digests("app", d1); len(got) != 0 {
		t.Fatalf("after delete, byDigest(app, d1) = %v", got)
	}
	if got := digests("other", d1); fmt.Sprint(got) != "[3kaaaaaaaaac2]" {
		t.Fatalf("after delete, byDigest(other, d1) = %v", got)
	}
	if got := idx.holds("app"); fmt.Sprint(got) != "[did:web:d.example]" {
		t.Fatalf("after delete, holds(app) = %v", got)
	}
	if n := len(idx.byDigestKey); n != 2 {
		t.Fatalf("byDigestKey keeps %d digests, want 2", n)
	}
}
