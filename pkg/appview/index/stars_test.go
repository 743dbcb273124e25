package index

import (
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
)

func TestStarsAndMostStarred(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t,
			rec(t, alice, tid(1), imageManifest("app", 1, time.Hour)),
			rec(t, alice, tid(2), imageManifest("lib", 2, time.Hour)),
			rec(t, bob, tid(3), imageManifest("tool", 3, time.Hour)),
			starRecord(t, bob, tid(10), alice, "app"),
			// a second record of bob for the same repository counts once
			starRecord(t, bob, tid(11), alice, "app"),
			starRecord(t, carol, tid(12), alice, "app"),
			starRecord(t, carol, tid(13), bob, "tool"),
			// a star on a repository the index does not have is kept, not listed
			starRecord(t, carol, tid(14), alice, "gone"),
		)
		top, more, err := e.store.MostStarred(e.ctx, Page{Limit: 1})
		if err != nil || !more || len(top) != 1 || top[0].Repository != "app" || top[0].Stars != 2 {
			t.Fatalf("MostStarred page 1 = %+v %v %v", top, more, err)
		}
		top, more, err = e.store.MostStarred(e.ctx, Page{Limit: 1, Offset: 1})
		if err != nil || more || len(top) != 1 || top[0].Repository != "tool" || top[0].Stars != 1 || top[0].Owner != bob {
			t.Fatalf("MostStarred page 2 = %+v %v %v", top, more, err)
		}
		page, err := e.store.RepositoryPage(e.ctx, alice, "app")
		if err != nil || page.Stars != 2 {
			t.Errorf("page stars = %d %v, want 2", page.Stars, err)
		}
		mine, _, err := e.store.UserStars(e.ctx, carol, Page{})
		if err != nil || len(mine) != 2 {
			t.Errorf("carol's stars = %+v %v, want app and tool", mine, err)
		}
		if ok, err := e.store.Starred(e.ctx, bob, alice, "app"); !ok || err != nil {
			t.Errorf("Starred(bob, alice/app) = %v %v", ok, err)
		}
		if ok, _ := e.store.Starred(e.ctx, alice, alice, "app"); ok {
			t.Error("Starred(alice, alice/app) = true")
		}

		e.del(t, bob, atcr.SailorStarNSID, tid(10))
		if page, _ := e.store.RepositoryPage(e.ctx, alice, "app"); page.Stars != 2 {
			t.Errorf("after deleting one of bob's two stars: %d, want 2", page.Stars)
		}
		e.del(t, bob, atcr.SailorStarNSID, tid(11))
		if page, _ := e.store.RepositoryPage(e.ctx, alice, "app"); page.Stars != 1 {
			t.Errorf("after deleting both of bob's stars: %d, want 1", page.Stars)
		}
	})
}
