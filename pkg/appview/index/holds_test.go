package index

import (
	"atcr.io/pkg/appview/db/dbtest"
	"errors"
	"testing"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/atproto/atcr"
)

func captainRecord(t *testing.T, hold, successor string) Record {
	return rec(t, hold, "self", &atcr.HoldCaptain{Owner: alice, Public: true, AllowAllCrew: true, DeployedAt: stamp(0),
		Region: "eu-west-1", Provider: "aws", Successor: successor})
}

func TestCaptainAndSuccessors(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		if got, err := e.store.ResolveHold(e.ctx, hold1); err != nil || got != hold1 {
			t.Errorf("unindexed hold resolves to %q %v, want itself", got, err)
		}
		e.put(t, captainRecord(t, hold1, hold2), captainRecord(t, hold2, hold3))
		c, err := e.store.Captain(e.ctx, hold1)
		if err != nil {
			t.Fatal(err)
		}
		if c.Owner != alice || !c.Public || !c.AllowAllCrew || c.Region != "eu-west-1" || c.Provider != "aws" ||
			c.Successor != hold2 || !c.DeployedAt.Equal(epoch) {
			t.Errorf("captain = %+v", c)
		}
		// hold3 has no captain indexed: the chain ends there.
		if got, err := e.store.ResolveHold(e.ctx, hold1); err != nil || got != hold3 {
			t.Errorf("ResolveHold(hold1) = %q %v, want hold3", got, err)
		}
		e.put(t, captainRecord(t, hold3, ""))
		if got, err := e.store.ResolveHold(e.ctx, hold2); err != nil || got != hold3 {
			t.Errorf("ResolveHold(hold2) = %q %v, want hold3", got, err)
		}
		e.put(t, captainRecord(t, hold3, hold1))
		if _, err := e.store.ResolveHold(e.ctx, hold1); !errors.Is(err, ErrSuccessorLoop) {
			t.Errorf("loop: %v, want ErrSuccessorLoop", err)
		}
		e.del(t, hold1, atcr.HoldCaptainNSID, "self")
		if _, err := e.store.Captain(e.ctx, hold1); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("deleted captain: %v", err)
		}
	})
}

func TestCrew(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t,
			rec(t, hold1, "m1", &atcr.HoldCrew{Member: bob, Role: "write", Permissions: []string{"blob:read", "blob:write"}, AddedAt: stamp(0), Tier: "deckhand"}),
			rec(t, hold1, "m2", &atcr.HoldCrew{Member: carol, Role: "read", Permissions: []string{}, AddedAt: stamp(0)}),
			rec(t, hold2, "m1", &atcr.HoldCrew{Member: carol, Role: "admin", Permissions: []string{"crew:admin"}, AddedAt: stamp(0)}),
		)
		crew, err := e.store.Crew(e.ctx, hold1)
		if err != nil || len(crew) != 2 {
			t.Fatalf("crew = %+v %v", crew, err)
		}
		if crew[0].Member != bob || crew[0].Role != "write" || len(crew[0].Permissions) != 2 || crew[0].Tier != "deckhand" ||
			crew[1].Member != carol || len(crew[1].Permissions) != 0 {
			t.Errorf("crew = %+v", crew)
		}
		e.del(t, hold1, atcr.HoldCrewNSID, "m1")
		if crew, _ := e.store.Crew(e.ctx, hold1); len(crew) != 1 || crew[0].Member != carol {
			t.Errorf("after delete: %+v", crew)
		}
	})
}

// A registering hold writes a crew record into its owner's PDS, naming its
// io.atcr.hold record there: the owner's DID must not become a hold.
func TestCrewCopyInOwnersRepoIsNotIndexed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t, rec(t, alice, "hold.example.com", &atcr.HoldCrew{Member: alice, Role: "owner",
			Permissions: []string{"blob:read", "blob:write", "crew:admin"}, AddedAt: stamp(0),
			Hold: "at://" + alice + "/io.atcr.hold/hold.example.com"}))
		if crew, err := e.store.Crew(e.ctx, alice); err != nil || len(crew) != 0 {
			t.Errorf("crew of the owner's DID = %+v %v, want none", crew, err)
		}
		dids, err := e.store.KnownDIDs(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dids {
			if d == alice {
				t.Errorf("the owner became a known DID through a registration crew record: %v", dids)
			}
		}
	})
}

// PushHolds: public holds and the holds a user is crew of, never a
// retired one nor a private hold of others.
func TestPushHolds(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		private := func(hold string) Record {
			return rec(t, hold, "self", &atcr.HoldCaptain{Owner: alice, DeployedAt: stamp(0)})
		}
		e.put(t,
			captainRecord(t, hold1, hold2), // public but retired
			private(hold2),                 // carol is crew
			captainRecord(t, hold3, ""),    // public
			rec(t, hold2, "m1", &atcr.HoldCrew{Member: carol, Role: "write", Permissions: []string{"blob:write"}, AddedAt: stamp(0)}),
		)
		got := func(did string) []string {
			hs, err := e.store.PushHolds(e.ctx, did)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, h := range hs {
				out = append(out, h.HoldDID.String())
			}
			return out
		}
		if h := got(bob); len(h) != 1 || h[0] != hold3 {
			t.Errorf("bob's holds: %v, want only the public, unretired one", h)
		}
		if h := got(carol); len(h) != 2 || h[0] != hold2 || h[1] != hold3 {
			t.Errorf("carol's holds: %v, want her crew hold and the public one", h)
		}
	})
}
