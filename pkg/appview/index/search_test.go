package index

import (
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
	"fmt"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
)

func TestMatchQueryHasNoFTSSyntax(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "",
		"   ":                       "",
		"tools/cli":                 `"tools"* "cli"*`,
		`"OR" NEAR(a b) * - ^col:x`: `"or"* "near"* "a"* "b"* "col"* "x"*`,
		"Ünïcode":                   `"ünïcode"*`,
		strings.Repeat("a ", 20):    strings.TrimSpace(strings.Repeat(`"a"* `, maxSearchTerms)),
		strings.Repeat("b", 100):    `"` + strings.Repeat("b", maxSearchTermLen) + `"*`,
	} {
		if got := matchQuery(in); got != want {
			t.Errorf("matchQuery(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSearchRepositories(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		withDesc := imageManifest("tools/cli", 1, time.Hour)
		withDesc.Annotations = map[string]any{"org.opencontainers.image.description": "Swiss army knife for containers"}
		e.put(t,
			rec(t, alice, tid(1), withDesc),
			rec(t, alice, tid(2), imageManifest("webapp", 2, time.Hour)),
			rec(t, bob, tid(3), imageManifest("postgres", 3, time.Hour)),
			rec(t, bob, "postgres", &atcr.RepoPage{Repository: "postgres", Description: "# Postgres\nThe relational database, tuned.", CreatedAt: stamp(0)}),
		)
		for q, want := range map[string]string{
			"cli":        "tools/cli",
			"tools":      "tools/cli",
			"tools/cli":  "tools/cli",
			"swiss knif": "tools/cli",
			"web":        "webapp",
			"relational": "postgres",
			"POSTGRES":   "postgres",
		} {
			hits, _, err := e.store.SearchRepositories(e.ctx, q, Page{})
			if err != nil || len(hits) != 1 || hits[0].Repository != want {
				t.Errorf("SearchRepositories(%q) = %+v %v, want %s", q, hits, err, want)
			}
		}
		if hits, _, err := e.store.SearchRepositories(e.ctx, "cli webapp", Page{}); err != nil || len(hits) != 0 {
			t.Errorf("every word must match: %+v %v", hits, err)
		}
		// Hostile queries are words, never FTS5 syntax errors.
		for _, q := range []string{`"`, `*`, `NEAR(`, `a OR`, `-x`, `col:"`, "\x00", strings.Repeat("(", 10000), ""} {
			if _, _, err := e.store.SearchRepositories(e.ctx, q, Page{}); err != nil {
				t.Errorf("SearchRepositories(%q): %v", q, err)
			}
			if _, _, err := e.store.SearchUsers(e.ctx, q, Page{}); err != nil {
				t.Errorf("SearchUsers(%q): %v", q, err)
			}
		}
		// The README changes the description that is searched.
		e.put(t, rec(t, bob, "postgres", &atcr.RepoPage{Repository: "postgres", Description: "now about pelicans", CreatedAt: stamp(0)}))
		if hits, _, _ := e.store.SearchRepositories(e.ctx, "relational", Page{}); len(hits) != 0 {
			t.Errorf("old README still found: %+v", hits)
		}
		e.del(t, bob, atcr.RepoPageNSID, "postgres")
		if hits, _, _ := e.store.SearchRepositories(e.ctx, "pelicans", Page{}); len(hits) != 0 {
			t.Errorf("deleted README still found: %+v", hits)
		}
	})
}

func TestSearchPaging(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		var events []Event
		for i := range 25 {
			events = append(events, Event{Record: rec(t, alice, tid(i), imageManifest(fmt.Sprintf("service-%02d", i), i, time.Hour))})
		}
		if _, err := e.store.Apply(e.ctx, Batch{Events: events}); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for offset := 0; ; offset += 10 {
			hits, more, err := e.store.SearchRepositories(e.ctx, "service", Page{Limit: 10, Offset: offset})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if seen[h.Repository] {
					t.Errorf("%s on two pages", h.Repository)
				}
				seen[h.Repository] = true
			}
			if !more {
				if len(hits) != 5 {
					t.Errorf("last page has %d hits, want 5", len(hits))
				}
				break
			}
			if len(hits) != 10 {
				t.Fatalf("page at %d has %d hits", offset, len(hits))
			}
		}
		if len(seen) != 25 {
			t.Errorf("%d repositories over all pages, want 25", len(seen))
		}
		if hits, _, _ := e.store.SearchRepositories(e.ctx, "service", Page{Limit: 1000}); len(hits) != 25 {
			t.Errorf("limit 1000 gave %d", len(hits))
		}
		if hits, _, _ := e.store.SearchRepositories(e.ctx, "service", Page{Limit: 1000, Offset: -5}); len(hits) != 25 {
			t.Errorf("negative offset gave %d", len(hits))
		}
	})
}

func TestRankedHitsConstantsAgree(t *testing.T) {
	if fmt.Sprint(maxRankedHits) != maxRankedHitsSQL {
		t.Errorf("maxRankedHits %d and its SQL spelling %s differ", maxRankedHits, maxRankedHitsSQL)
	}
}

// A name match ranks above a description match.
func TestSearchRanksNamesFirst(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		described := imageManifest("aaa", 1, time.Hour)
		described.Annotations = map[string]any{"org.opencontainers.image.description": "a tool for redis users"}
		e.put(t, rec(t, alice, tid(1), described), rec(t, bob, tid(2), imageManifest("redis", 2, time.Hour)))
		hits, _, err := e.store.SearchRepositories(e.ctx, "redis", Page{})
		if err != nil || len(hits) != 2 || hits[0].Repository != "redis" {
			t.Errorf("hits = %+v %v, want redis first", hits, err)
		}
	})
}
