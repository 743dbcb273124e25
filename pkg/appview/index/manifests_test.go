package index

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
	"atcr.io/pkg/atproto/atcr"
)

func TestManifestsAndTagsMakeARepositoryPage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		img := imageManifest("tools/cli", 1, time.Hour)
		img.Annotations = map[string]any{
			"org.opencontainers.image.title":       "CLI",
			"org.opencontainers.image.description": "a command line",
			"org.opencontainers.image.source":      "https://example.com/cli",
			"com.example.private":                  "dropped",
		}
		e.put(t,
			rec(t, alice, tid(1), img),
			rec(t, alice, tid(2), imageManifest("tools/cli", 2, 2*time.Hour)),
			rec(t, alice, tid(3), imageManifest("tools/cli", 3, 2*time.Hour)),
			rec(t, alice, tid(4), indexManifest("tools/cli", 4, 3*time.Hour, 2, 3)),
			tagRecord(t, alice, "tools/cli", "v1", tid(1), time.Hour),
			tagRecord(t, alice, "tools/cli", "latest", tid(4), 3*time.Hour),
		)
		page, err := e.store.RepositoryPage(e.ctx, alice, "tools/cli")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tags) != 2 || page.TagCount != 2 || page.Tags[0].Tag != "latest" || page.Tags[1].Tag != "v1" {
			t.Fatalf("tags = %+v (count %d), want latest then v1", page.Tags, page.TagCount)
		}
		latest, v1 := page.Tags[0], page.Tags[1]
		if latest.Digest != digest(4) || latest.MediaType != "application/vnd.oci.image.index.v1+json" || latest.Size != 1000 {
			t.Errorf("latest = %+v", latest)
		}
		if len(latest.Platforms) != 2 || latest.Platforms[0].Architecture != "amd64" || latest.Platforms[1].Architecture != "arm64" ||
			latest.Platforms[1].Digest != digest(3) {
			t.Errorf("latest platforms = %+v", latest.Platforms)
		}
		if v1.Digest != digest(1) || v1.Size != 3100 || len(v1.Platforms) != 0 || v1.HoldDID != hold1 {
			t.Errorf("v1 = %+v", v1)
		}
		if !v1.UpdatedAt.Equal(epoch.Add(time.Hour)) {
			t.Errorf("v1 age from %v, want %v", v1.UpdatedAt, epoch.Add(time.Hour))
		}
		want := map[string]string{
			"org.opencontainers.image.title":       "CLI",
			"org.opencontainers.image.description": "a command line",
			"org.opencontainers.image.source":      "https://example.com/cli",
		}
		if len(page.Annotations) != len(want) {
			t.Errorf("annotations = %v, want %v", page.Annotations, want)
		}
		for k, v := range want {
			if page.Annotations[k] != v {
				t.Errorf("annotation %s = %q, want %q", k, page.Annotations[k], v)
			}
		}
		if page.Owner.DID != alice {
			t.Errorf("owner = %+v", page.Owner)
		}

		repos, more, err := e.store.UserRepositories(e.ctx, alice, Page{})
		if err != nil || more || len(repos) != 1 || repos[0].Repository != "tools/cli" || repos[0].Description != "a command line" ||
			!repos[0].LastPush.Equal(epoch.Add(3*time.Hour)) {
			t.Errorf("UserRepositories = %+v %v %v", repos, more, err)
		}
		pushes, _, err := e.store.RecentPushes(e.ctx, Page{})
		if err != nil || len(pushes) != 2 || pushes[0].Tag != "latest" || pushes[0].Size != 1000 || pushes[1].Tag != "v1" {
			t.Errorf("RecentPushes = %+v %v", pushes, err)
		}

		if _, err := e.store.RepositoryPage(e.ctx, alice, "nothing"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("unknown repository: %v, want ErrNotFound", err)
		}
	})
}

// Jetstream may deliver a tag before the manifest it names.
func TestTagBeforeItsManifest(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t, tagRecord(t, alice, "app", "latest", tid(1), time.Hour))
		page, err := e.store.RepositoryPage(e.ctx, alice, "app")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tags) != 1 || page.Tags[0].Digest != "" || page.Tags[0].ManifestRKey != "" {
			t.Fatalf("unresolved tag = %+v", page.Tags)
		}
		e.put(t, rec(t, alice, tid(1), imageManifest("app", 7, time.Hour)))
		page, err = e.store.RepositoryPage(e.ctx, alice, "app")
		if err != nil {
			t.Fatal(err)
		}
		if page.Tags[0].Digest != digest(7) || page.Tags[0].ManifestRKey != tid(1) || page.Tags[0].Size != 3100 {
			t.Errorf("resolved tag = %+v", page.Tags[0])
		}
	})
}

func TestDeletesRemoveTheRepository(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t,
			rec(t, alice, tid(1), imageManifest("app", 1, time.Hour)),
			tagRecord(t, alice, "app", "latest", tid(1), time.Hour),
		)
		if hits, _, _ := e.store.SearchRepositories(e.ctx, "app", Page{}); len(hits) != 1 {
			t.Fatalf("search before delete = %+v", hits)
		}
		e.del(t, alice, atcr.TagNSID, "app:latest")
		if _, err := e.store.RepositoryPage(e.ctx, alice, "app"); err != nil {
			t.Errorf("repository gone while a manifest names it: %v", err)
		}
		e.del(t, alice, atcr.ManifestNSID, tid(1))
		if _, err := e.store.RepositoryPage(e.ctx, alice, "app"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("repository after every record is deleted: %v", err)
		}
		for _, table := range []string{"repositories", "manifests", "layers", "tags", "repository_search", "repository_annotations"} {
			if n := e.count(t, table); n != 0 {
				t.Errorf("%s has %d rows after the deletes", table, n)
			}
		}
		// Deleting what is not there is not an error.
		e.del(t, alice, atcr.ManifestNSID, tid(1))
		e.del(t, alice, atcr.HoldCrewNSID, "nobody")
	})
}

// A record updated to another repository leaves the old one.
func TestManifestMovedBetweenRepositories(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t, rec(t, alice, tid(1), imageManifest("old", 1, time.Hour)))
		e.put(t, rec(t, alice, tid(1), imageManifest("new", 1, time.Hour)))
		repos, _, err := e.store.UserRepositories(e.ctx, alice, Page{})
		if err != nil || len(repos) != 1 || repos[0].Repository != "new" {
			t.Errorf("repositories = %+v %v, want only new", repos, err)
		}
		if n := e.count(t, "layers"); n != 2 {
			t.Errorf("%d layer rows after the re-put, want 2", n)
		}
	})
}

// The same events applied twice (a Jetstream replay after a rewind) leave
// the same rows.
func TestReplayIsIdempotent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		events := []Event{
			{Record: rec(t, alice, tid(1), imageManifest("app", 1, time.Hour))},
			{Record: rec(t, alice, tid(2), indexManifest("app", 2, 2*time.Hour, 1))},
			{Record: tagRecord(t, alice, "app", "latest", tid(2), 2*time.Hour)},
			{Record: starRecord(t, bob, tid(3), alice, "app")},
			{Record: rec(t, alice, "app", &atcr.RepoPage{Repository: "app", Description: "# App", CreatedAt: stamp(0)})},
			{Record: rec(t, alice, "self", &atcr.SailorProfile{DefaultHold: hold1, CreatedAt: stamp(0), UpdatedAt: stamp(0)})},
			{Record: rec(t, hold1, "self", &atcr.HoldCaptain{Owner: alice, Public: true, DeployedAt: stamp(0)})},
			{Record: rec(t, hold1, "m1", &atcr.HoldCrew{Member: bob, Role: "write", Permissions: []string{"blob:read"}, AddedAt: stamp(0)})},
			{Record: Record{DID: alice, Collection: atcr.TagNSID, RKey: "app:gone"}, Delete: true},
		}
		if _, err := e.store.Apply(e.ctx, Batch{Events: events, CursorUS: 100}); err != nil {
			t.Fatal(err)
		}
		first := e.dump(t)
		e.clock.Advance(time.Hour) // updated_at columns must not make a replay look different
		for range 2 {
			res, err := e.store.Apply(e.ctx, Batch{Events: events, CursorUS: 100})
			if err != nil || res.Applied != len(events) || len(res.Invalid) != 0 {
				t.Fatalf("replay: %+v %v", res, err)
			}
		}
		for _, ev := range events {
			if !ev.Delete {
				e.put(t, ev.Record)
			}
		}
		if again := e.dump(t); again != first {
			t.Errorf("replay changed the index:\nfirst:\n%s\nafter:\n%s", first, again)
		}
	})
}

func TestManifestDetailWithReferrers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		img := imageManifest("app", 1, time.Hour)
		img.Annotations = map[string]any{"org.opencontainers.image.licenses": "MIT"}
		sig := imageManifest("app", 2, 2*time.Hour)
		sig.ArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"
		sig.Subject = &atcr.Manifest_BlobReference{Digest: digest(1), MediaType: img.MediaType, Size: 700}
		e.put(t, rec(t, alice, tid(1), img), rec(t, alice, tid(2), sig), rec(t, alice, tid(3), indexManifest("app", 3, 3*time.Hour, 1)))
		m, err := e.store.Manifest(e.ctx, alice, "app", digest(1))
		if err != nil {
			t.Fatal(err)
		}
		if m.RKey != tid(1) || len(m.Layers) != 2 || m.Layers[1].Size != 2000 || m.Annotations["org.opencontainers.image.licenses"] != "MIT" {
			t.Errorf("manifest = %+v", m)
		}
		if len(m.Referrers) != 1 || m.Referrers[0].Digest != digest(2) || m.Referrers[0].ArtifactType != sig.ArtifactType {
			t.Errorf("referrers = %+v", m.Referrers)
		}
		idx, err := e.store.Manifest(e.ctx, alice, "app", digest(3))
		if err != nil || len(idx.Platforms) != 1 || idx.Platforms[0].Digest != digest(1) || len(idx.Layers) != 0 {
			t.Errorf("index = %+v %v", idx, err)
		}
		if _, err := e.store.Manifest(e.ctx, alice, "app", digest(9)); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("unknown digest: %v", err)
		}
	})
}

func TestRecentPushesPaging(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		for i := range 5 {
			e.put(t, rec(t, alice, tid(i), imageManifest("app", i, time.Duration(i)*time.Minute)),
				tagRecord(t, alice, "app", fmt.Sprintf("v%d", i), tid(i), time.Duration(i)*time.Minute))
		}
		first, more, err := e.store.RecentPushes(e.ctx, Page{Limit: 3})
		if err != nil || !more || len(first) != 3 || first[0].Tag != "v4" || first[2].Tag != "v2" {
			t.Fatalf("page 1 = %+v %v %v", first, more, err)
		}
		rest, more, err := e.store.RecentPushes(e.ctx, Page{Limit: 3, Offset: 3})
		if err != nil || more || len(rest) != 2 || rest[0].Tag != "v1" || rest[1].Digest != digest(0) {
			t.Fatalf("page 2 = %+v %v %v", rest, more, err)
		}
	})
}

// A repository page holds the newest MaxPageTags tags and counts them all:
// an account publishing thousands of tag records does not make every load
// of its page grow with them.
func TestRepositoryPageShowsTheNewestTags(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		records := []Record{rec(t, alice, tid(1), imageManifest("app", 1, time.Hour))}
		const tags = MaxPageTags + 5
		for i := range tags {
			records = append(records, tagRecord(t, alice, "app", fmt.Sprintf("t%03d", i), tid(1), time.Duration(i)*time.Minute))
		}
		e.put(t, records...)
		page, err := e.store.RepositoryPage(e.ctx, alice, "app")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tags) != MaxPageTags || page.TagCount != tags || page.Tags[0].Tag != fmt.Sprintf("t%03d", tags-1) {
			t.Fatalf("%d tags of %d, first %q; want the newest %d of %d", len(page.Tags), page.TagCount, page.Tags[0].Tag, MaxPageTags, tags)
		}
	})
}

// A tag of an index lists at most MaxTagPlatforms of its entries, and the
// page reads the platforms of the shown tags' manifests only.
func TestRepositoryPageBoundsPlatforms(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		children := make([]int, MaxTagPlatforms+36)
		for i := range children {
			children[i] = 1000 + i
		}
		e.put(t,
			rec(t, alice, tid(1), indexManifest("app", 1, time.Hour, children...)),
			tagRecord(t, alice, "app", "wide", tid(1), time.Minute),
			rec(t, alice, tid(2), indexManifest("app", 2, time.Hour, 3, 4)),
			tagRecord(t, alice, "app", "two", tid(2), 2*time.Minute),
			rec(t, alice, tid(3), indexManifest("app", 5, time.Hour, 6, 7, 8)), // untagged
		)
		page, err := e.store.RepositoryPage(e.ctx, alice, "app")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, tg := range page.Tags {
			got[tg.Tag] = len(tg.Platforms)
		}
		if got["wide"] != MaxTagPlatforms || got["two"] != 2 || len(got) != 2 {
			t.Fatalf("platforms per tag %v, want wide %d and two 2", got, MaxTagPlatforms)
		}
		if p := page.Tags[0].Platforms; page.Tags[0].Tag != "two" || p[0].Architecture != "amd64" || p[1].Architecture != "arm64" {
			t.Fatalf("platforms out of order: %+v", page.Tags[0])
		}
	})
}
