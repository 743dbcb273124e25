package index

import (
	"slices"
	"testing"
	"time"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
	"atcr.io/pkg/appview/jetstream"
	"atcr.io/pkg/atproto/atcr"
)

// notices records what a DIDWatcher is told; namedBy, the account that
// named each DID told through NoticeHold.
type notices struct {
	first, again []string
	namedBy      map[string]string
}

func (n *notices) Notice(did string, firstSeen bool) {
	if firstSeen {
		n.first = append(n.first, did)
	} else {
		n.again = append(n.again, did)
	}
}

func (n *notices) NoticeHold(hold, namedBy string, firstSeen bool) {
	if n.namedBy == nil {
		n.namedBy = map[string]string{}
	}
	n.namedBy[hold] = namedBy
	n.Notice(hold, firstSeen)
}

// The sink reports the DIDs it meets for the first time (no rows of their
// records in the index before the batch) once, every io.atcr.* DID of a
// later batch as seen, and never a DID of Bluesky profile commits alone.
func TestSinkReportsFirstSeenDIDs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		// bob has rows already (written before the sink existed).
		e.put(t, rec(t, bob, tid(9), imageManifest("tool", 9, time.Minute)))
		n := &notices{}
		k := NewJetstreamSink(e.store, SinkOptions{MaxBatch: 100, Window: time.Hour, DIDs: n})
		handle := func(cs ...jetstream.Commit) {
			t.Helper()
			for _, c := range cs {
				if err := k.HandleCommit(e.ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			if err := k.Flush(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		handle(
			commit(t, rec(t, alice, tid(1), imageManifest("web", 1, time.Minute)), 1),
			commit(t, tagRecord(t, alice, "web", "latest", tid(1), time.Minute), 2),
			commit(t, rec(t, bob, tid(2), imageManifest("tool", 2, time.Minute)), 3),
			commit(t, rec(t, hold1, "self", &atcr.HoldCaptain{Owner: alice, DeployedAt: stamp(0)}), 4),
			jetstream.Commit{DID: carol, Collection: BskyProfileNSID, RKey: "self", Operation: jetstream.OpCreate, CID: "bafyreib", Record: []byte(`{"$type":"app.bsky.actor.profile","displayName":"Carol"}`), TimeUS: 5},
		)
		slices.Sort(n.first)
		if !slices.Equal(n.first, []string{alice, hold1}) || !slices.Equal(n.again, []string{bob}) {
			t.Fatalf("first batch: first seen %v, seen %v", n.first, n.again)
		}
		if s := k.Stats(); s.FirstSeen != 2 {
			t.Errorf("FirstSeen = %d", s.FirstSeen)
		}
		// alice again, and carol's first io.atcr.* record.
		*n = notices{}
		handle(
			commit(t, tagRecord(t, alice, "web", "v1", tid(1), time.Minute), 6),
			commit(t, starRecord(t, carol, tid(3), alice, "web"), 7),
		)
		if !slices.Equal(n.first, []string{carol}) || !slices.Equal(n.again, []string{alice}) {
			t.Fatalf("second batch: first seen %v, seen %v", n.first, n.again)
		}
		// A sink started later (a restart) asks the database: nobody is new.
		*n = notices{}
		k = NewJetstreamSink(e.store, SinkOptions{MaxBatch: 100, Window: time.Hour, DIDs: n})
		handle(commit(t, tagRecord(t, alice, "web", "v2", tid(1), time.Minute), 8), commit(t, starRecord(t, carol, tid(4), alice, "web"), 9))
		if len(n.first) != 0 || len(n.again) != 2 {
			t.Fatalf("after a restart: first seen %v, seen %v", n.first, n.again)
		}
	})
}

// The hold a manifest names is noticed like an account, through
// NoticeHold with the account naming it: first seen while the index has
// none of its captain or crew records, so the scheduler reads the hold's
// repo; a deleted manifest names nothing. A hold that writes records in
// the batch itself is an account, whoever names it, and a DID only named
// before is still first seen at its own first write.
func TestSinkNoticesTheHoldAManifestNames(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t, rec(t, hold1, "self", &atcr.HoldCaptain{Owner: alice, DeployedAt: stamp(0)}))
		n := &notices{}
		k := NewJetstreamSink(e.store, SinkOptions{MaxBatch: 100, Window: time.Hour, DIDs: n})
		onHold2 := imageManifest("web", 1, time.Minute)
		onHold2.HoldDID = hold2
		for _, c := range []jetstream.Commit{
			commit(t, rec(t, alice, tid(1), onHold2), 1),
			commit(t, rec(t, alice, tid(2), imageManifest("web", 2, time.Minute)), 2), // hold1
		} {
			if err := k.HandleCommit(e.ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := k.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		slices.Sort(n.first)
		want := []string{alice, hold2}
		slices.Sort(want)
		if !slices.Equal(n.first, want) || !slices.Equal(n.again, []string{hold1}) {
			t.Fatalf("first seen %v (want %v), seen %v (want [%s])", n.first, want, n.again, hold1)
		}
		if len(n.namedBy) != 2 || n.namedBy[hold1] != alice || n.namedBy[hold2] != alice {
			t.Fatalf("holds named %v, want %s and %s named by %s", n.namedBy, hold1, hold2, alice)
		}

		*n = notices{}
		onHold3 := imageManifest("web", 3, time.Minute)
		onHold3.HoldDID = hold2
		for _, c := range []jetstream.Commit{
			commit(t, rec(t, alice, tid(3), onHold3), 3),
			commit(t, rec(t, hold2, "self", &atcr.HoldCaptain{Owner: alice, DeployedAt: stamp(0)}), 4),
		} {
			if err := k.HandleCommit(e.ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := k.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		// hold2 was only named so far: it is not known to have rows, so its
		// own first records read as first seen, told as an account.
		if _, named := n.namedBy[hold2]; named || !slices.Contains(n.first, hold2) {
			t.Fatalf("a hold writing its own records: named %v, first seen %v, seen %v; want it first seen as an account", n.namedBy, n.first, n.again)
		}
	})
}
