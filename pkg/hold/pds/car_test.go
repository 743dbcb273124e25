package pds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	car "github.com/ipld/go-car"
)

// exportCAR returns p's full repository CAR.
func exportCAR(t testing.TB, p *PDS) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := p.Export(context.Background(), &buf); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return buf.Bytes()
}

// carRecords loads a repo CAR with indigo and returns path → record CID.
func carRecords(t testing.TB, carBytes []byte) (*repo.Commit, map[string]string) {
	t.Helper()
	commit, r, err := repo.LoadRepoFromCAR(context.Background(), bytes.NewReader(carBytes))
	if err != nil {
		t.Fatalf("LoadRepoFromCAR: %v", err)
	}
	if err := r.MST.Verify(); err != nil {
		t.Fatalf("MST.Verify: %v", err)
	}
	out := map[string]string{}
	err = r.MST.Walk(func(key []byte, val cid.Cid) error {
		// Every record block must be present and hash to its CID.
		coll, rkey, err := syntax.ParseRepoPath(string(key))
		if err != nil {
			return err
		}
		raw, c, err := r.GetRecordBytes(context.Background(), coll, rkey)
		if err != nil {
			return fmt.Errorf("record %s: %w", key, err)
		}
		if sum, _ := c.Prefix().Sum(raw); !sum.Equals(val) {
			return fmt.Errorf("record %s: block does not hash to %s", key, val)
		}
		out[string(key)] = val.String()
		return nil
	})
	if err != nil {
		t.Fatalf("walk CAR repo: %v", err)
	}
	return commit, out
}

// fillRepo writes n crew records and a captain and returns path → CID.
func fillRepo(t testing.TB, p *PDS, n int) map[string]string {
	t.Helper()
	want := map[string]string{}
	want["io.atcr.hold.captain/self"] = mustPut(t, p, "io.atcr.hold.captain", "self", map[string]any{"owner": "did:plc:owner", "public": true})
	for i := range n {
		rkey := fmt.Sprintf("m%04d", i)
		want["io.atcr.hold.crew/"+rkey] = mustPut(t, p, crewNSID, rkey, crewRecord(fmt.Sprintf("did:plc:m%d", i), "blob:read"))
	}
	return want
}

func TestExportVerifies(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	want := fillRepo(t, p, 60)
	if err := p.DeleteRecord(ctx, crewNSID, "m0007"); err != nil {
		t.Fatal(err)
	}
	delete(want, "io.atcr.hold.crew/m0007")

	carBytes := exportCAR(t, p)
	commit, got := carRecords(t, carBytes)
	if len(got) != len(want) {
		t.Fatalf("CAR has %d records, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("record %s: cid %s, want %s", k, got[k], v)
		}
	}
	headCommit, rev := p.Head()
	if commit.Rev != rev || commit.DID != p.DID().String() {
		t.Errorf("commit rev/did = %s/%s, want %s/%s", commit.Rev, commit.DID, rev, p.DID())
	}
	if _, c, err := repo.LoadCommitFromCAR(ctx, bytes.NewReader(carBytes)); err != nil || c.String() != headCommit {
		t.Errorf("CAR root = %v (%v), want %s", c, err, headCommit)
	}
	if _, err := repo.VerifyCommitSignatureFromCar(ctx, mockDir(p), carBytes); err != nil {
		t.Errorf("VerifyCommitSignatureFromCar: %v", err)
	}

	// Negative control: a hold with another key must not verify this CAR.
	other := openTestPDS(t, "")
	if _, err := repo.VerifyCommitSignatureFromCar(ctx, mockDir(other), carBytes); err == nil {
		t.Error("signature verified against a different key")
	}
}

func TestExportSince(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	fillRepo(t, p, 30)
	full := exportCAR(t, p)
	_, sinceRev := p.Head()

	cNew := mustPut(t, p, crewNSID, "newcomer", crewRecord("did:plc:new"))
	headCommit, _ := p.Head()

	var buf bytes.Buffer
	if err := p.ExportSince(ctx, &buf, syntax.TID(sinceRev)); err != nil {
		t.Fatalf("ExportSince: %v", err)
	}
	diff := carBlockSet(t, buf.Bytes())
	if !diff[headCommit] || !diff[cNew] {
		t.Errorf("diff lacks the new commit or record: %v", diff)
	}
	old := carBlockSet(t, full)
	for c := range diff {
		if old[c] {
			t.Errorf("diff contains block %s from before since", c)
		}
	}
	if len(diff) >= len(old)/2 {
		t.Errorf("diff has %d blocks, full repo %d: not a diff", len(diff), len(old))
	}
	// Old blocks + diff = the new repo: it loads and verifies.
	merged := mergeCARs(t, headCommit, full, buf.Bytes())
	_, got := carRecords(t, merged)
	if got["io.atcr.hold.crew/newcomer"] != cNew || len(got) != 32 {
		t.Errorf("merged repo has %d records, newcomer=%s", len(got), got["io.atcr.hold.crew/newcomer"])
	}
}

// carBlocks returns the blocks of a CAR in order.
func carBlocks(t testing.TB, b []byte) []blocks.Block {
	t.Helper()
	cr, err := car.NewCarReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("read CAR: %v", err)
	}
	var out []blocks.Block
	for {
		blk, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read CAR block: %v", err)
		}
		out = append(out, blk)
	}
}

// carBlockSet returns the CIDs of the blocks in a CAR.
func carBlockSet(t testing.TB, b []byte) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, blk := range carBlocks(t, b) {
		out[blk.Cid().String()] = true
	}
	return out
}

// mergeCARs writes one CAR with root and the blocks of all inputs.
func mergeCARs(t testing.TB, root string, cars ...[]byte) []byte {
	t.Helper()
	rc, _ := cid.Decode(root)
	mem := newMemBlocks()
	for _, b := range cars {
		for _, blk := range carBlocks(t, b) {
			mem.Put(context.Background(), blk)
		}
	}
	var out bytes.Buffer
	if err := writeCAR(&out, rc, mem.order); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestRecordProof(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	want := fillRepo(t, p, 200)
	if err := p.DeleteRecord(ctx, crewNSID, "m0100"); err != nil {
		t.Fatal(err)
	}
	proof := func(rkey string) []byte {
		var buf bytes.Buffer
		if err := p.ExportRecordProof(ctx, &buf, crewNSID, syntax.RecordKey(rkey)); err != nil {
			t.Fatalf("ExportRecordProof %s: %v", rkey, err)
		}
		if _, err := repo.VerifyCommitSignatureFromCar(ctx, mockDir(p), buf.Bytes()); err != nil {
			t.Fatalf("proof %s signature: %v", rkey, err)
		}
		return buf.Bytes()
	}

	present := proof("m0042")
	_, r, err := repo.LoadRepoFromCAR(ctx, bytes.NewReader(present))
	if err != nil {
		t.Fatalf("load present proof: %v", err)
	}
	if _, c, err := r.GetRecordBytes(ctx, crewNSID, "m0042"); err != nil || c.String() != want["io.atcr.hold.crew/m0042"] {
		t.Errorf("present proof: cid %v, err %v", c, err)
	}
	if n := len(carBlockSet(t, present)); n > 10 {
		t.Errorf("proof has %d blocks; want only the path", n)
	}

	for _, absent := range []string{"m0100", "nope", "a", "zzzz"} {
		_, r, err := repo.LoadRepoFromCAR(ctx, bytes.NewReader(proof(absent)))
		if err != nil {
			t.Fatalf("load absent proof %s: %v", absent, err)
		}
		if _, _, err := r.GetRecordBytes(ctx, crewNSID, syntax.RecordKey(absent)); !errors.Is(err, repo.ErrNotFound) {
			t.Errorf("absent proof %s: err = %v, want repo.ErrNotFound", absent, err)
		}
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := openTestPDS(t, "")
	want := fillRepo(t, src, 450) // more than two import commits
	blob, err := src.UploadBlob(ctx, "application/json", bytes.NewReader([]byte(`{"sbom":1}`)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want["io.atcr.hold.scan/abc"] = mustPut(t, src, "io.atcr.hold.scan", "abc", map[string]any{"sbomBlob": blob, "total": 3})
	carBytes := exportCAR(t, src)

	dst := openTestPDS(t, "")
	if err := dst.Import(ctx, bytes.NewReader(carBytes)); err != nil {
		t.Fatalf("Import: %v", err)
	}
	_, got := carRecords(t, exportCAR(t, dst))
	if len(got) != len(want) {
		t.Fatalf("imported %d records, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("record %s: cid %s, want %s", k, got[k], v)
		}
	}
	dstCAR := exportCAR(t, dst)
	if _, err := repo.VerifyCommitSignatureFromCar(ctx, mockDir(dst), dstCAR); err != nil {
		t.Errorf("imported repo not signed by the importing hold: %v", err)
	}
	// Importing again changes nothing.
	_, rev := dst.Head()
	if err := dst.Import(ctx, bytes.NewReader(carBytes)); err != nil {
		t.Fatalf("re-Import: %v", err)
	}
	if _, rev2 := dst.Head(); rev2 != rev {
		t.Errorf("re-import of identical records wrote a commit")
	}
	if err := dst.Import(ctx, bytes.NewReader([]byte("not a car"))); err == nil {
		t.Error("Import accepted garbage")
	}
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := openTestPDS(t, dir, func(o *Options) { o.KeepEvents = 5 })
	want := fillRepo(t, p, 40)
	for i := range 20 { // overwrite: old record versions and nodes become garbage
		rkey := fmt.Sprintf("m%04d", i)
		want["io.atcr.hold.crew/"+rkey] = mustPut(t, p, crewNSID, rkey, crewRecord("did:plc:changed", "blob:write"))
	}
	var before int
	p.db.QueryRow(`SELECT COUNT(*) FROM blocks`).Scan(&before)
	stats, err := p.GC(ctx)
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	var after, evts int
	p.db.QueryRow(`SELECT COUNT(*) FROM blocks`).Scan(&after)
	p.db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&evts)
	if stats.BlocksDeleted == 0 || after != before-stats.BlocksDeleted || evts != 5 {
		t.Errorf("GC stats %+v: blocks %d -> %d, events left %d", stats, before, after, evts)
	}
	_, got := carRecords(t, exportCAR(t, p))
	if len(got) != len(want) {
		t.Errorf("after GC: %d records, want %d", len(got), len(want))
	}
	// The repo still reloads completely (no partial tree) and accepts writes.
	p.Close()
	q := openTestPDS(t, dir)
	mustPut(t, q, crewNSID, "post-gc", crewRecord("did:plc:x"))
}
