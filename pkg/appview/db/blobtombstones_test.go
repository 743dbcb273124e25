package db

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

func digestN(i int) string { return fmt.Sprintf("sha256:%064x", i) }

func TestBlobTombstoneLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine Engine) {
		ctx := context.Background()
		d := openEngine(t, engine)
		const alice, bob = "did:plc:alice", "did:plc:bob"
		a, b := digestN(1), digestN(2)

		if got, err := d.BlobTombstones(ctx, alice, "app", a, b); err != nil || len(got) != 0 {
			t.Fatalf("fresh database: %v, %v; want none", got, err)
		}
		if err := d.PutBlobTombstone(ctx, BlobTombstone{DID: alice, Repository: "app", Digest: a, DeletedAt: fixedNow}); err != nil {
			t.Fatal(err)
		}
		// Unlinking again keeps one row with the newer time.
		if err := d.PutBlobTombstone(ctx, BlobTombstone{DID: alice, Repository: "app", Digest: a, DeletedAt: fixedNow.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var n, at int64
		if err := d.sql.QueryRowContext(ctx, `SELECT count(*), max(deleted_at) FROM blob_tombstones`).Scan(&n, &at); err != nil {
			t.Fatal(err)
		}
		if n != 1 || at != fixedNow.Add(time.Hour).Unix() {
			t.Fatalf("%d rows, deleted_at %d; want one row at the second time", n, at)
		}

		// Only that repository of that owner is affected.
		for _, c := range []struct {
			did, repo string
			want      []string
		}{
			{alice, "app", []string{a}},
			{alice, "app/sub", nil},
			{alice, "other", nil},
			{bob, "app", nil},
		} {
			got, err := d.BlobTombstones(ctx, syntax.DID(c.did), c.repo, b, a, a)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("BlobTombstones(%s, %s) = %v, %v; want %v", c.did, c.repo, got, err, c.want)
			}
		}

		cleared, err := d.ClearBlobTombstone(ctx, alice, "app", a)
		if err != nil || !cleared {
			t.Fatalf("clear: %v, %v; want true", cleared, err)
		}
		if cleared, err = d.ClearBlobTombstone(ctx, alice, "app", a); err != nil || cleared {
			t.Fatalf("clear again: %v, %v; want false", cleared, err)
		}
		if got, _ := d.BlobTombstones(ctx, alice, "app", a); len(got) != 0 {
			t.Fatalf("after clear: %v", got)
		}
	})
}

// TestBlobTombstonesManyDigests: a lookup larger than one query batch
// finds every tombstone, in the order asked.
func TestBlobTombstonesManyDigests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine Engine) {
		ctx := context.Background()
		d := openEngine(t, engine)
		var all, want []string
		for i := range 3*tombstoneBatch + 7 {
			all = append(all, digestN(i))
			if i%97 == 0 {
				want = append(want, digestN(i))
				if err := d.PutBlobTombstone(ctx, BlobTombstone{DID: "did:plc:alice", Repository: "app", Digest: digestN(i), DeletedAt: fixedNow}); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := d.BlobTombstones(ctx, "did:plc:alice", "app", all...)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("got %d tombstones (%v), want %d", len(got), err, len(want))
		}
	})
}

// TestBlobTombstonesSurviveReopen: tombstones are in the file, not in memory.
func TestBlobTombstonesSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "appview.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PutBlobTombstone(ctx, BlobTombstone{DID: "did:plc:alice", Repository: "app", Digest: digestN(7), DeletedAt: fixedNow}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, err := d.BlobTombstones(ctx, "did:plc:alice", "app", digestN(7)); err != nil || len(got) != 1 {
		t.Fatalf("after reopen: %v, %v", got, err)
	}
}

// BenchmarkBlobTombstoneLookup is the cost every blob HEAD and GET pays:
// a lookup of one digest in a table of 10,000 tombstones that misses.
func BenchmarkBlobTombstoneLookup(b *testing.B) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(b.TempDir(), "appview.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10_000 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO blob_tombstones VALUES (?, ?, ?, ?)`,
			fmt.Sprintf("did:plc:user%d", i%100), "app", digestN(i), fixedNow.Unix()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	miss := "sha256:" + strings.Repeat("f", 64)
	b.ResetTimer()
	for b.Loop() {
		if got, err := d.BlobTombstones(ctx, "did:plc:user1", "app", miss); err != nil || len(got) != 0 {
			b.Fatal(got, err)
		}
	}
}
