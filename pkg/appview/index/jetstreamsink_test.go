package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
	"atcr.io/pkg/appview/jetstream"
	"atcr.io/pkg/atproto/atcr"
)

// commit turns a Record into the Jetstream commit that would carry it.
func commit(t testing.TB, r Record, timeUS int64) jetstream.Commit {
	t.Helper()
	raw, err := json.Marshal(r.Value)
	if err != nil {
		t.Fatal(err)
	}
	return jetstream.Commit{DID: r.DID, Collection: r.Collection, RKey: r.RKey, Operation: jetstream.OpCreate,
		CID: r.CID, Record: raw, TimeUS: timeUS}
}

// newSink returns a sink whose window never ends on its own during a test:
// batches are written when full, by SaveCursor, Flush or Close.
func newSink(e *env, batch int) *JetstreamSink {
	return NewJetstreamSink(e.store, SinkOptions{MaxBatch: batch, Window: time.Hour})
}

func TestSinkBatchesWithCursor(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		k := newSink(e, 100)
		m := rec(t, alice, tid(1), imageManifest("web", 1, time.Minute))
		evs := []jetstream.Commit{
			commit(t, m, 10),
			commit(t, tagRecord(t, alice, "web", "latest", tid(1), time.Minute), 11),
			commit(t, starRecord(t, bob, tid(2), alice, "web"), 12),
			{DID: alice, Collection: atcr.HoldLayerNSID, RKey: tid(3), Operation: jetstream.OpCreate, Record: []byte(`{}`), TimeUS: 13},
		}
		for _, c := range evs {
			if err := k.HandleCommit(e.ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.count(t, "manifests"); n != 0 {
			t.Fatalf("manifests written before the batch ended: %d", n)
		}
		if err := k.SaveCursor(e.ctx, 13); err != nil {
			t.Fatal(err)
		}
		if e.count(t, "manifests") != 1 || e.count(t, "tags") != 1 || e.count(t, "stars") != 1 {
			t.Fatalf("rows after the flush:\n%s", e.dump(t))
		}
		if cur, err := k.LoadCursor(e.ctx); err != nil || cur != 13 {
			t.Fatalf("cursor %d, %v; want 13", cur, err)
		}
		s := k.Stats()
		if s.Batches != 1 || s.Applied != 3 || s.Ignored != 1 || s.Invalid != 0 || s.Pending != 0 {
			t.Fatalf("stats %+v", s)
		}

		// A delete, through a full batch of one.
		k1 := newSink(e, 1)
		if err := k1.HandleCommit(e.ctx, jetstream.Commit{DID: bob, Collection: atcr.SailorStarNSID, RKey: tid(2), Operation: jetstream.OpDelete, TimeUS: 20}); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, "stars"); n != 0 {
			t.Fatalf("stars after delete: %d", n)
		}
		if cur, _ := k1.LoadCursor(e.ctx); cur != 20 {
			t.Fatalf("cursor %d after a full batch, want 20", cur)
		}
	})
}

func TestSinkCountsInvalidRecords(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		k := newSink(e, 100)
		bad := rec(t, alice, tid(1), imageManifest("web", 1, time.Minute))
		bad.Value["digest"] = "sha256:nothex"
		if err := k.HandleCommit(e.ctx, commit(t, bad, 1)); err != nil {
			t.Fatal(err) // refused when the batch is written, not here
		}
		notData := jetstream.Commit{DID: alice, Collection: atcr.TagNSID, RKey: "web:latest", Operation: jetstream.OpCreate,
			Record: []byte(`{"$type":"io.atcr.tag","x":{"$link":7}}`), TimeUS: 2}
		if err := k.HandleCommit(e.ctx, notData); !errors.Is(err, jetstream.ErrInvalidRecord) {
			t.Fatalf("record that is not atproto data: %v, want ErrInvalidRecord", err)
		}
		good := rec(t, alice, tid(2), imageManifest("web", 2, time.Minute))
		if err := k.HandleCommit(e.ctx, commit(t, good, 3)); err != nil {
			t.Fatal(err)
		}
		if err := k.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		if s := k.Stats(); s.Invalid != 2 || s.Applied != 1 {
			t.Fatalf("stats %+v, want 2 invalid and 1 applied", s)
		}
		if n := e.count(t, "manifests"); n != 1 {
			t.Fatalf("manifests %d, want 1", n)
		}
	})
}

// TestSinkFallsBackPerEvent: an event the database refuses (a trigger
// here) fails its batch's transaction; the others are then written one by
// one, the refused one is counted and skipped, and the cursor moves on.
func TestSinkFallsBackPerEvent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.refuseInserts(t, "poison", "stars", `NEW.rkey = '`+tid(9)+`'`)
		k := newSink(e, 100)
		for i, r := range []Record{
			rec(t, alice, tid(1), imageManifest("web", 1, time.Minute)),
			starRecord(t, bob, tid(9), alice, "web"),
			starRecord(t, carol, tid(2), alice, "web"),
		} {
			if err := k.HandleCommit(e.ctx, commit(t, r, int64(100+i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := k.Flush(e.ctx); err != nil {
			t.Fatalf("flush with one poisoned event: %v", err)
		}
		s := k.Stats()
		if s.Fallbacks != 1 || s.Failed != 1 || s.Applied != 2 || s.Pending != 0 {
			t.Fatalf("stats %+v", s)
		}
		if e.count(t, "manifests") != 1 || e.count(t, "stars") != 1 {
			t.Fatalf("rows:\n%s", e.dump(t))
		}
		if cur, _ := k.LoadCursor(e.ctx); cur != 102 {
			t.Fatalf("cursor %d, want 102", cur)
		}
	})
}

// TestSinkKeepsBatchWhileDatabaseFails: when the database refuses
// everything, the batch is kept (not lost), a full sink refuses new
// events so the consumer reconnects, and the batch is written once the
// database works again.
func TestSinkKeepsBatchWhileDatabaseFails(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		k := newSink(e, 2)
		m1 := rec(t, alice, tid(1), imageManifest("web", 1, time.Minute))
		if err := k.HandleCommit(e.ctx, commit(t, m1, 1)); err != nil {
			t.Fatal(err)
		}
		// Every write fails: the cursor table and the manifests are blocked.
		e.refuseInserts(t, "block_cursor", "jetstream_cursor", "")
		e.refuseInserts(t, "block_manifests", "manifests", "")
		m2 := rec(t, alice, tid(2), imageManifest("web", 2, time.Minute))
		if err := k.HandleCommit(e.ctx, commit(t, m2, 2)); err == nil {
			t.Fatal("a full batch the database refuses: want an error")
		}
		m3 := rec(t, alice, tid(3), imageManifest("web", 3, time.Minute))
		if err := k.HandleCommit(e.ctx, commit(t, m3, 3)); err == nil {
			t.Fatal("a full failing sink took another event")
		}
		if s := k.Stats(); s.Pending != 2 || s.Applied != 0 {
			t.Fatalf("stats while failing %+v", s)
		}
		e.allowInserts(t, "block_cursor", "jetstream_cursor")
		e.allowInserts(t, "block_manifests", "manifests")
		// The consumer sends m3 again after its reconnect.
		if err := k.HandleCommit(e.ctx, commit(t, m3, 3)); err != nil {
			t.Fatal(err)
		}
		if err := k.Close(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, "manifests"); n != 3 {
			t.Fatalf("manifests %d, want 3", n)
		}
		if cur, _ := k.LoadCursor(e.ctx); cur != 3 {
			t.Fatalf("cursor %d, want 3", cur)
		}
	})
}

func TestSinkIdentityAndAccountEvents(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		k := newSink(e, 100)
		if err := k.HandleCommit(e.ctx, commit(t, rec(t, alice, tid(1), imageManifest("web", 1, time.Minute)), 1)); err != nil {
			t.Fatal(err)
		}
		if err := k.HandleIdentity(e.ctx, jetstream.Identity{DID: alice, Handle: "Alice.Example.com", TimeUS: 2}); err != nil {
			t.Fatal(err)
		}
		u, err := e.store.User(e.ctx, alice)
		if err != nil || u.Handle != "alice.example.com" {
			t.Fatalf("user %+v, %v", u, err)
		}
		if e.count(t, "manifests") != 1 {
			t.Fatal("the identity event did not write the commits before it")
		}
		if err := k.HandleAccount(e.ctx, jetstream.Account{DID: alice, Active: false, Status: "deactivated"}); err != nil {
			t.Fatal(err)
		}
		if e.count(t, "manifests") != 1 {
			t.Fatal("a deactivated account lost its rows")
		}
		if err := k.HandleAccount(e.ctx, jetstream.Account{DID: alice, Active: false, Status: "deleted"}); err != nil {
			t.Fatal(err)
		}
		if e.count(t, "manifests") != 0 || e.count(t, "repositories") != 0 {
			t.Fatalf("a deleted account kept rows:\n%s", e.dump(t))
		}
		if err := k.HandleIdentity(e.ctx, jetstream.Identity{DID: "not-a-did"}); !errors.Is(err, jetstream.ErrInvalidRecord) {
			t.Fatalf("identity of a bad DID: %v", err)
		}
	})
}

func TestKnownDIDs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t, rec(t, alice, tid(1), imageManifest("web", 1, time.Minute)), starRecord(t, bob, tid(2), alice, "web"))
		got, err := e.store.KnownDIDs(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{alice, bob, hold1}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("known DIDs %v, want %v", got, want)
		}
	})
}

// BenchmarkSinkCommits is the indexer as the consumer drives it: Jetstream
// commits (JSON records) through HandleCommit, batched into Apply by the
// sink (batches of 100; the window never ends on its own here).
func BenchmarkSinkCommits(b *testing.B) {
	e := newEnv(b, db.EngineSQLite)
	commits := make([]jetstream.Commit, 0, b.N)
	for i := 0; len(commits) < b.N; i++ {
		owner := fmt.Sprintf("did:plc:user%04d", i%1000)
		repo := fmt.Sprintf("repo%d", i%50)
		for _, r := range []Record{
			rec(b, owner, tid(i), imageManifest(repo, i, time.Duration(i)*time.Second)),
			tagRecord(b, owner, repo, fmt.Sprintf("t%d", i), tid(i), time.Duration(i)*time.Second),
			starRecord(b, owner, tid(i+1<<20), "did:plc:user0000", "repo0"),
		} {
			commits = append(commits, commit(b, r, int64(len(commits)+1)))
		}
	}
	commits = commits[:b.N]
	k := newSink(e, DefaultSinkBatch)
	b.ResetTimer()
	for _, c := range commits {
		if err := k.HandleCommit(e.ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	if err := k.Flush(e.ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if s := k.Stats(); s.Applied != int64(b.N) {
		b.Fatalf("applied %d of %d (%+v)", s.Applied, b.N, s)
	}
}

// Jetstream's echo of a record the index holds at the same CID (this
// AppView indexed its own write) is skipped; a record at another CID, and
// every record of a batch without SkipUnchanged (a backfill), is written.
// Inserts into layers are refused meanwhile, so any rewrite of the
// manifest fails.
func TestApplySkipsRecordsHeldAtTheSameCID(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		own := rec(t, alice, tid(1), imageManifest("app", 1, time.Hour))
		e.put(t, own, tagRecord(t, alice, "app", "v1", tid(1), time.Hour))
		before := e.dump(t)
		e.refuseInserts(t, "no_layers", "layers", "")
		echo := []Event{{Record: own}, {Record: tagRecord(t, alice, "app", "v1", tid(1), time.Hour)}}
		if _, err := e.store.Apply(e.ctx, Batch{Events: echo, CursorUS: 7, SkipUnchanged: true}); err != nil {
			t.Fatalf("the echo of indexed records: %v", err)
		}
		withoutCursor := func(dump string) string {
			var keep []string
			for _, line := range strings.Split(dump, "\n") {
				if !strings.HasPrefix(line, "jetstream_cursor ") {
					keep = append(keep, line)
				}
			}
			return strings.Join(keep, "\n")
		}
		if after := withoutCursor(e.dump(t)); after != withoutCursor(before) {
			t.Fatalf("the echo changed the index:\n%s\nwant\n%s", after, before)
		}
		if e.count(t, "jetstream_cursor") != 1 {
			t.Fatal("the batch's cursor was not stored")
		}
		if _, err := e.store.Apply(e.ctx, Batch{Events: echo[:1]}); err == nil {
			t.Fatal("a backfill batch (no SkipUnchanged) skipped a record it should rewrite")
		}
		moved := own
		moved.CID = "bafyreibother"
		if _, err := e.store.Apply(e.ctx, Batch{Events: []Event{{Record: moved}}, SkipUnchanged: true}); err == nil {
			t.Fatal("a record at a new CID was skipped")
		}
	})
}
