package index

import (
	"slices"
	"testing"
	"time"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
)

// ManifestKeys names the keys of one account's records of a digest in one
// repository, newest first, at most limit.
func TestManifestKeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t, rec(t, alice, tid(1), imageManifest("web", 1, time.Minute)))
		e.put(t, rec(t, alice, tid(2), imageManifest("web", 2, 2*time.Minute)))
		e.put(t, rec(t, alice, tid(3), imageManifest("web", 1, 3*time.Minute))) // pushed again
		e.put(t, rec(t, alice, tid(4), imageManifest("tool", 1, 4*time.Minute)))
		e.put(t, rec(t, bob, tid(5), imageManifest("web", 1, 5*time.Minute)))
		keys, err := e.store.ManifestKeys(e.ctx, alice, "web", digest(1), 4)
		if err != nil || !slices.Equal(keys, []string{tid(3), tid(1)}) {
			t.Fatalf("keys %v, %v; want [%s %s]", keys, err, tid(3), tid(1))
		}
		if keys, err = e.store.ManifestKeys(e.ctx, alice, "web", digest(1), 1); err != nil || !slices.Equal(keys, []string{tid(3)}) {
			t.Fatalf("limit 1: %v, %v", keys, err)
		}
		if keys, err = e.store.ManifestKeys(e.ctx, alice, "web", digest(9), 4); err != nil || len(keys) != 0 {
			t.Fatalf("unknown digest: %v, %v", keys, err)
		}
	})
}

// TagNames lists one repository's tags, most recently moved first.
func TestTagNames(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t, tagRecord(t, alice, "web", "latest", tid(1), time.Minute))
		e.put(t, tagRecord(t, alice, "web", "v1", tid(1), 2*time.Minute))
		e.put(t, tagRecord(t, alice, "tool", "v1", tid(1), 3*time.Minute))
		e.put(t, tagRecord(t, bob, "web", "v9", tid(1), 4*time.Minute))
		names, err := e.store.TagNames(e.ctx, alice, "web", 10)
		if err != nil || !slices.Equal(names, []string{"v1", "latest"}) {
			t.Fatalf("tags %v, %v; want [v1 latest]", names, err)
		}
		if names, err = e.store.TagNames(e.ctx, alice, "web", 1); err != nil || !slices.Equal(names, []string{"v1"}) {
			t.Fatalf("limit 1: %v, %v", names, err)
		}
	})
}
