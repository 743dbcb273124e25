package index

import (
	"atcr.io/pkg/appview/db/dbtest"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/atproto/atcr"
)

func bskyProfileRecord(t *testing.T, did, name string, withAvatar bool) Record {
	t.Helper()
	raw := `{"$type":"app.bsky.actor.profile","displayName":` + quote(name) + `,"description":"hi"`
	if withAvatar {
		raw += `,"avatar":{"$type":"blob","ref":{"$link":"bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"},"mimeType":"image/png","size":1234}`
	}
	r, err := ParseJSON(did, BskyProfileNSID, "self", "", []byte(raw+"}"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestProfilesHandlesAndUserSearch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		if _, err := e.store.User(e.ctx, alice); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		e.put(t,
			rec(t, alice, tid(1), imageManifest("webapp", 1, time.Hour)),
			bskyProfileRecord(t, alice, "Alice Liddell", true),
			rec(t, alice, "self", &atcr.SailorProfile{DefaultHold: "https://Hold1.example.com", CreatedAt: stamp(0), UpdatedAt: stamp(0)}),
		)
		if err := e.store.SetHandle(e.ctx, alice, "Alice.Example.COM"); err != nil {
			t.Fatal(err)
		}
		u, err := e.store.UserByHandle(e.ctx, "alice.example.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.DID != alice || u.Handle != "alice.example.com" || u.DisplayName != "Alice Liddell" || u.Description != "hi" ||
			u.AvatarCID != "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy" || u.DefaultHold != hold1 {
			t.Errorf("user = %+v", u)
		}
		for _, q := range []string{"alice", "Liddell", "alic", "example.com", "ALICE EXAMPLE"} {
			users, _, err := e.store.SearchUsers(e.ctx, q, Page{})
			if err != nil || len(users) != 1 || users[0].DID != alice {
				t.Errorf("SearchUsers(%q) = %+v %v", q, users, err)
			}
		}
		// The handle is searchable on the repositories too, at once.
		if hits, _, err := e.store.SearchRepositories(e.ctx, "alice webapp", Page{}); err != nil || len(hits) != 1 || hits[0].Handle != "alice.example.com" {
			t.Errorf("search by handle and name = %+v %v", hits, err)
		}
		if err := e.store.SetHandle(e.ctx, alice, "wonderland.example.org"); err != nil {
			t.Fatal(err)
		}
		if hits, _, _ := e.store.SearchRepositories(e.ctx, "alice", Page{}); len(hits) != 0 {
			t.Errorf("old handle still finds the repository: %+v", hits)
		}
		if hits, _, _ := e.store.SearchRepositories(e.ctx, "wonderland", Page{}); len(hits) != 1 {
			t.Errorf("new handle does not find the repository: %+v", hits)
		}
		if err := e.store.SetHandle(e.ctx, alice, "not a handle"); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("bad handle: %v", err)
		}

		e.del(t, alice, BskyProfileNSID, "self")
		e.del(t, alice, atcr.SailorProfileNSID, "self")
		u, err = e.store.User(e.ctx, alice)
		if err != nil || u.DisplayName != "" || u.AvatarCID != "" || u.DefaultHold != "" || u.Handle != "wonderland.example.org" {
			t.Errorf("after the profile deletes: %+v %v", u, err)
		}
		if users, _, _ := e.store.SearchUsers(e.ctx, "Liddell", Page{}); len(users) != 0 {
			t.Errorf("deleted display name still found: %+v", users)
		}
	})
}

// Rebuild-friendly: DeleteDID removes what alice's records made and keeps
// the counters, her handle and others' stars.
func TestDeleteDID(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t,
			rec(t, alice, tid(1), indexManifest("app", 1, time.Hour, 2)),
			tagRecord(t, alice, "app", "latest", tid(1), time.Hour),
			rec(t, alice, "app", &atcr.RepoPage{Repository: "app", Description: "readme", CreatedAt: stamp(0)}),
			starRecord(t, alice, tid(5), bob, "tool"),
			starRecord(t, bob, tid(6), alice, "app"),
			bskyProfileRecord(t, alice, "Alice", false),
			rec(t, bob, tid(7), imageManifest("tool", 7, time.Hour)),
		)
		if err := e.store.SetHandle(e.ctx, alice, "alice.example.com"); err != nil {
			t.Fatal(err)
		}
		e.store.CountPull(alice, "app")
		if err := e.store.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		beforeBob := e.count(t, "manifests")
		if err := e.store.DeleteDID(e.ctx, alice); err != nil {
			t.Fatal(err)
		}
		for table, want := range map[string]int{
			"manifests": beforeBob - 1, "manifest_references": 0, "tags": 0, "repo_pages": 0, "repositories": 1,
			"repository_search": 1, "stars": 1, "repository_stats": 1,
		} {
			if n := e.count(t, table); n != want {
				t.Errorf("%s: %d rows, want %d", table, n, want)
			}
		}
		u, err := e.store.User(e.ctx, alice)
		if err != nil || u.Handle != "alice.example.com" || u.DisplayName != "" {
			t.Errorf("alice after DeleteDID = %+v %v", u, err)
		}
		// Re-reading her records restores the repository with its counters.
		e.put(t, rec(t, alice, tid(1), indexManifest("app", 1, time.Hour, 2)))
		page, err := e.store.RepositoryPage(e.ctx, alice, "app")
		if err != nil || page.Pulls != 1 || page.Stars != 1 {
			t.Errorf("rebuilt page = %+v %v", page, err)
		}
		if err := e.store.DeleteDID(e.ctx, "nope"); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("DeleteDID(bad) = %v", err)
		}
	})
}
