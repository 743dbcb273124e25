package pds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

func TestRecordLifecycle(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	_, startRev := p.Head()

	uri, c1, err := p.CreateRecord(ctx, crewNSID, "alice", crewRecord("did:plc:alice", "blob:read"))
	if err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	if want := "at://did:web:hold.example.com/io.atcr.hold.crew/alice"; uri.String() != want {
		t.Errorf("uri = %s, want %s", uri, want)
	}
	val, c, err := p.GetRecord(ctx, crewNSID, "alice")
	if err != nil {
		t.Fatalf("GetRecord: %v", err)
	}
	if c != c1 || val["member"] != "did:plc:alice" || val["$type"] != crewNSID.String() {
		t.Errorf("GetRecord = %v %s, want member alice, $type, cid %s", val, c, c1)
	}

	if _, _, err := p.CreateRecord(ctx, crewNSID, "alice", crewRecord("did:plc:other")); !errors.Is(err, ErrRecordExists) {
		t.Errorf("CreateRecord on existing key: err = %v, want ErrRecordExists", err)
	}

	_, c2, err := p.PutRecord(ctx, crewNSID, "alice", crewRecord("did:plc:alice", "blob:read", "blob:write"))
	if err != nil || c2 == c1 {
		t.Fatalf("PutRecord update: cid %s (old %s), err %v", c2, c1, err)
	}
	val, _, _ = p.GetRecord(ctx, crewNSID, "alice")
	if perms := val["permissions"].([]any); len(perms) != 2 {
		t.Errorf("updated permissions = %v", perms)
	}

	// Update on an absent key creates it (putRecord semantics).
	if _, _, err := p.PutRecord(ctx, crewNSID, "bob", crewRecord("did:plc:bob")); err != nil {
		t.Fatalf("PutRecord create: %v", err)
	}

	if err := p.DeleteRecord(ctx, crewNSID, "alice"); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	if _, _, err := p.GetRecord(ctx, crewNSID, "alice"); !errors.Is(err, ErrRecordNotFound) {
		t.Errorf("GetRecord after delete: err = %v, want ErrRecordNotFound", err)
	}
	if err := p.DeleteRecord(ctx, crewNSID, "alice"); !errors.Is(err, ErrRecordNotFound) {
		t.Errorf("second DeleteRecord: err = %v, want ErrRecordNotFound", err)
	}
	_, rev := p.Head()
	if rev <= startRev {
		t.Errorf("rev did not advance: %s <= %s", rev, startRev)
	}
}

func TestCreateRecordGeneratesTID(t *testing.T) {
	p := openTestPDS(t, "")
	uri, _, err := p.CreateRecord(context.Background(), "io.atcr.hold.layer", "", map[string]any{"digest": "sha256:abc", "size": 12})
	if err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	if _, err := syntax.ParseTID(uri.RecordKey().String()); err != nil {
		t.Errorf("generated rkey %q is not a TID: %v", uri.RecordKey(), err)
	}
}

func TestNoopUpdateWritesNoCommit(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	c1 := mustPut(t, p, crewNSID, "alice", crewRecord("did:plc:alice"))
	commitBefore, revBefore := p.Head()
	seqBefore := p.LastSeq()

	res, err := p.ApplyWrites(ctx, []Write{{Op: Update, Collection: crewNSID, RKey: "alice", Record: crewRecord("did:plc:alice")}})
	if err != nil {
		t.Fatalf("no-op ApplyWrites: %v", err)
	}
	if res.Committed || !res.Results[0].Noop || res.Results[0].CID != c1 {
		t.Errorf("result = %+v, want no commit, Noop, cid %s", res, c1)
	}
	commitAfter, revAfter := p.Head()
	if commitAfter != commitBefore || revAfter != revBefore || p.LastSeq() != seqBefore {
		t.Errorf("head moved on a no-op: %s/%s -> %s/%s", commitBefore, revBefore, commitAfter, revAfter)
	}

	// A no-op mixed with a real change commits only the change.
	res, err = p.ApplyWrites(ctx, []Write{
		{Op: Update, Collection: crewNSID, RKey: "alice", Record: crewRecord("did:plc:alice")},
		{Op: Create, Collection: crewNSID, RKey: "bob", Record: crewRecord("did:plc:bob")},
	})
	if err != nil || !res.Committed || !res.Results[0].Noop || res.Results[1].Noop {
		t.Fatalf("mixed batch: %+v, %v", res, err)
	}
}

func TestBatchLimits(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	writes := make([]Write, MaxCommitOps+1)
	for i := range writes {
		writes[i] = Write{Op: Create, Collection: crewNSID, RKey: syntax.RecordKey(fmt.Sprintf("m%03d", i)), Record: crewRecord("did:plc:x")}
	}
	if _, err := p.ApplyWrites(ctx, writes); !errors.Is(err, ErrTooManyOps) {
		t.Fatalf("201-op batch: err = %v, want ErrTooManyOps", err)
	}
	if _, err := p.ApplyWrites(ctx, writes[:MaxCommitOps]); err != nil {
		t.Fatalf("200-op batch: %v", err)
	}
	recs, _, err := p.ListRecords(ctx, crewNSID, 100, "", false)
	if err != nil || len(recs) != 100 {
		t.Fatalf("ListRecords after 200-op batch: %d records, %v", len(recs), err)
	}

	// Commits whose blocks exceed 2,000,000 bytes are refused, and the
	// repository is unchanged afterwards (the tree is rebuilt from head).
	big := strings.Repeat("x", 900_000)
	_, revBefore := p.Head()
	_, err = p.ApplyWrites(ctx, []Write{
		{Op: Create, Collection: "io.atcr.hold.scan", RKey: "a", Record: map[string]any{"blob": big}},
		{Op: Create, Collection: "io.atcr.hold.scan", RKey: "b", Record: map[string]any{"blob": big + "y"}},
		{Op: Create, Collection: "io.atcr.hold.scan", RKey: "c", Record: map[string]any{"blob": big + "z"}},
	})
	if !errors.Is(err, ErrCommitTooLarge) {
		t.Fatalf("oversized commit: err = %v, want ErrCommitTooLarge", err)
	}
	if _, rev := p.Head(); rev != revBefore {
		t.Errorf("head moved after refused commit")
	}
	if _, _, err := p.GetRecord(ctx, "io.atcr.hold.scan", "a"); !errors.Is(err, ErrRecordNotFound) {
		t.Errorf("record of refused commit is visible: %v", err)
	}
	// The repository still accepts writes and the tree is intact.
	mustPut(t, p, "io.atcr.hold.scan", "a", map[string]any{"blob": "small"})
	p.mu.RLock()
	err = p.tree.Verify()
	p.mu.RUnlock()
	if err != nil {
		t.Errorf("tree invalid after rebuild: %v", err)
	}
}

func TestRecordValidation(t *testing.T) {
	ctx := context.Background()
	var seen []string
	p := openTestPDS(t, "", func(o *Options) {
		o.Validate = func(coll string, rec map[string]any) error {
			seen = append(seen, coll)
			if rec["$type"] != coll {
				return fmt.Errorf("$type not set")
			}
			if rec["member"] == "refuse" {
				return errors.New("refused by lexicon")
			}
			return nil
		}
	})
	cases := []struct {
		name string
		coll syntax.NSID
		rkey syntax.RecordKey
		rec  map[string]any
		want error
	}{
		{"float", crewNSID, "f", map[string]any{"n": 1.5}, ErrInvalidRecord},
		{"nested float", crewNSID, "g", map[string]any{"a": []any{map[string]any{"n": float32(2)}}}, ErrInvalidRecord},
		{"wrong $type", crewNSID, "t", map[string]any{"$type": "app.bsky.feed.post"}, ErrInvalidRecord},
		{"validator refuses", crewNSID, "v", map[string]any{"member": "refuse"}, ErrInvalidRecord},
		{"unsupported type", crewNSID, "u", map[string]any{"c": make(chan int)}, ErrInvalidRecord},
		{"struct", crewNSID, "s", map[string]any{"c": struct{ A int }{1}}, ErrInvalidRecord},
		{"int map keys", crewNSID, "m", map[string]any{"c": map[int]string{1: "a"}}, ErrInvalidRecord},
		{"float in typed slice", crewNSID, "fs", map[string]any{"c": []float64{1}}, ErrInvalidRecord},
		{"bad rkey", crewNSID, "..", map[string]any{}, ErrInvalidWrite},
		{"bad collection", "not-an-nsid", "k", map[string]any{}, ErrInvalidWrite},
		{"nil record", crewNSID, "n", nil, ErrInvalidRecord},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := p.CreateRecord(ctx, tc.coll, tc.rkey, tc.rec); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}

	// Go ints become int64 and the caller's map is not mutated.
	tier := "deckhand"
	rec := map[string]any{
		"size": 42, "count": uint32(7), "did": syntax.DID("did:plc:x"), "tier": &tier,
		"annotations": map[string]string{"a": "b"}, "perms": []string{"blob:read"},
	}
	if _, _, err := p.CreateRecord(ctx, "io.atcr.hold.layer", "l1", rec); err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	if _, ok := rec["$type"]; ok || len(rec) != 6 {
		t.Errorf("caller's map was mutated: %v", rec)
	}
	val, _, _ := p.GetRecord(ctx, "io.atcr.hold.layer", "l1")
	ann, _ := val["annotations"].(map[string]any)
	perms, _ := val["perms"].([]any)
	if val["size"] != int64(42) || val["count"] != int64(7) || val["did"] != "did:plc:x" || val["tier"] != "deckhand" ||
		ann["a"] != "b" || len(perms) != 1 || perms[0] != "blob:read" {
		t.Errorf("stored values = %#v", val)
	}
	if len(seen) == 0 || seen[len(seen)-1] != "io.atcr.hold.layer" {
		t.Errorf("validator not called for the write: %v", seen)
	}
}

func TestListRecordsPagination(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	// Neighbouring collections must not leak into the listing.
	mustPut(t, p, "io.atcr.hold.captain", "self", map[string]any{"owner": "did:plc:o"})
	mustPut(t, p, "io.atcr.hold.crewx", "zz", crewRecord("did:plc:z"))
	var writes []Write
	for i := range 25 {
		writes = append(writes, Write{Op: Create, Collection: crewNSID, RKey: syntax.RecordKey(fmt.Sprintf("k%02d", i)), Record: crewRecord(fmt.Sprintf("did:plc:m%d", i))})
	}
	if _, err := p.ApplyWrites(ctx, writes); err != nil {
		t.Fatal(err)
	}

	collect := func(reverse bool) []string {
		var keys []string
		cursor := ""
		for range 10 {
			recs, next, err := p.ListRecords(ctx, crewNSID, 10, cursor, reverse)
			if err != nil {
				t.Fatalf("ListRecords: %v", err)
			}
			for _, r := range recs {
				keys = append(keys, r.RKey.String())
			}
			if next == "" {
				return keys
			}
			cursor = next
		}
		t.Fatal("pagination did not end")
		return nil
	}
	asc := collect(true)
	desc := collect(false)
	if len(asc) != 25 || asc[0] != "k00" || asc[24] != "k24" {
		t.Errorf("ascending = %v", asc)
	}
	if len(desc) != 25 || desc[0] != "k24" || desc[24] != "k00" {
		t.Errorf("descending = %v", desc)
	}
	colls, err := p.Collections()
	if err != nil || strings.Join(colls, ",") != "io.atcr.hold.captain,io.atcr.hold.crew,io.atcr.hold.crewx" {
		t.Errorf("Collections = %v, %v", colls, err)
	}
	if _, _, err := p.ListRecords(ctx, crewNSID, 10, "bad/cursor", false); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("bad cursor: err = %v", err)
	}
}

func TestSwapRecord(t *testing.T) {
	ctx := context.Background()
	p := openTestPDS(t, "")
	c1 := mustPut(t, p, crewNSID, "a", crewRecord("did:plc:a"))
	c2 := mustPut(t, p, crewNSID, "b", crewRecord("did:plc:b"))
	if _, err := p.ApplyWrites(ctx, []Write{{Op: Delete, Collection: crewNSID, RKey: "a", SwapRecord: c2}}); !errors.Is(err, ErrInvalidSwap) {
		t.Errorf("delete with wrong swap: err = %v, want ErrInvalidSwap", err)
	}
	if _, err := p.ApplyWrites(ctx, []Write{{Op: Delete, Collection: crewNSID, RKey: "a", SwapRecord: c1}}); err != nil {
		t.Errorf("delete with right swap: %v", err)
	}
}

func TestRestartKeepsState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := openTestPDS(t, dir)
	key := p.PublicKey().Multibase()
	mustPut(t, p, crewNSID, "alice", crewRecord("did:plc:alice"))
	commit, rev := p.Head()
	seq := p.LastSeq()
	p.Close()

	q := openTestPDS(t, dir)
	if q.PublicKey().Multibase() != key {
		t.Errorf("signing key changed across restart")
	}
	if c, r := q.Head(); c != commit || r != rev || q.LastSeq() != seq {
		t.Errorf("head after restart = %s/%s/%d, want %s/%s/%d", c, r, q.LastSeq(), commit, rev, seq)
	}
	if _, _, err := q.GetRecord(ctx, crewNSID, "alice"); err != nil {
		t.Errorf("record lost across restart: %v", err)
	}
	mustPut(t, q, crewNSID, "bob", crewRecord("did:plc:bob"))
	if _, r := q.Head(); r <= rev {
		t.Errorf("rev after restart %s is not greater than %s", r, rev)
	}
	if tid := q.NextTID(); tid.String() <= rev {
		t.Errorf("NextTID %s is not greater than last rev %s", tid, rev)
	}
}
