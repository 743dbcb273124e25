package index

import (
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
	"errors"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

// Hostile and broken records are refused with an *InvalidRecordError and
// write nothing.
func TestInvalidRecordsAreRefused(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		tooManyLayers := imageManifest("app", 1, 0)
		for i := range maxDescriptors + 1 {
			tooManyLayers.Layers = append(tooManyLayers.Layers, atcr.Manifest_BlobReference{Digest: digest(i), MediaType: "x", Size: 1})
		}
		negative := imageManifest("app", 1, 0)
		negative.Layers[0].Size = -1
		huge := imageManifest("app", 1, 0)
		huge.Layers[0].Size = 1 << 62
		badLayerDigest := imageManifest("app", 1, 0)
		badLayerDigest.Layers[0].Digest = "sha256:../../etc/passwd"
		noType := rec(t, alice, tid(1), imageManifest("app", 1, 0))
		delete(noType.Value, "$type")
		wrongType := rec(t, alice, tid(1), imageManifest("app", 1, 0))
		wrongType.Value["$type"] = atcr.TagNSID
		longPlatform := indexManifest("app", 1, 0, 2)
		longPlatform.Manifests[0].Platform.Variant = strings.Repeat("v", 200)

		manifest := func(mut func(*atcr.Manifest)) Record {
			m := imageManifest("app", 1, 0)
			mut(m)
			return rec(t, alice, tid(1), m)
		}
		tests := map[string]Record{
			"overlong repository":       manifest(func(m *atcr.Manifest) { m.Repository = strings.Repeat("a", 300) }),
			"repository at the limit":   manifest(func(m *atcr.Manifest) { m.Repository = strings.Repeat("a", 219) + "/" + strings.Repeat("b", 30) }),
			"upper-case repository":     manifest(func(m *atcr.Manifest) { m.Repository = "App" }),
			"dot-dot repository":        manifest(func(m *atcr.Manifest) { m.Repository = "a/../b" }),
			"html repository":           manifest(func(m *atcr.Manifest) { m.Repository = "<script>" }),
			"bad digest":                manifest(func(m *atcr.Manifest) { m.Digest = "sha256:XYZ" }),
			"md5 digest":                manifest(func(m *atcr.Manifest) { m.Digest = "md5:0123456789abcdef0123456789abcdef" }),
			"bad hold DID":              manifest(func(m *atcr.Manifest) { m.HoldDID = "https://hold.example.com" }),
			"bad createdAt":             manifest(func(m *atcr.Manifest) { m.CreatedAt = "yesterday" }),
			"too many layers":           rec(t, alice, tid(1), tooManyLayers),
			"negative size":             rec(t, alice, tid(1), negative),
			"huge size":                 rec(t, alice, tid(1), huge),
			"path in layer digest":      rec(t, alice, tid(1), badLayerDigest),
			"long platform":             rec(t, alice, tid(1), longPlatform),
			"no $type":                  noType,
			"wrong $type":               wrongType,
			"manifest rkey not a TID":   rec(t, alice, "latest", imageManifest("app", 1, 0)),
			"bad DID":                   {DID: "alice", Collection: atcr.ManifestNSID, RKey: tid(1), Value: noType.Value},
			"unsupported collection":    {DID: alice, Collection: "io.atcr.hold.layer", RKey: tid(1), Value: map[string]any{"$type": "io.atcr.hold.layer"}},
			"no value":                  {DID: alice, Collection: atcr.ManifestNSID, RKey: tid(1)},
			"tag with bad name":         rec(t, alice, "app:x", &atcr.Tag{Repository: "app", Tag: "-bad", Manifest: "at://" + alice + "/io.atcr.manifest/" + tid(1), CreatedAt: stamp(0)}),
			"tag with no target":        rec(t, alice, "app:x", &atcr.Tag{Repository: "app", Tag: "x", CreatedAt: stamp(0)}),
			"tag at another's manifest": rec(t, alice, "app:x", &atcr.Tag{Repository: "app", Tag: "x", Manifest: "at://" + bob + "/io.atcr.manifest/" + tid(1), CreatedAt: stamp(0)}),
			"tag at a non-manifest":     rec(t, alice, "app:x", &atcr.Tag{Repository: "app", Tag: "x", Manifest: "at://" + alice + "/io.atcr.repo.page/app", CreatedAt: stamp(0)}),
			"page under another key":    rec(t, alice, "other", &atcr.RepoPage{Repository: "app", CreatedAt: stamp(0)}),
			"overlong README":           rec(t, alice, "app", &atcr.RepoPage{Repository: "app", Description: strings.Repeat("x", 100001), CreatedAt: stamp(0)}),
			"star at a handle":          rec(t, bob, tid(2), &atcr.SailorStar{Subject: "at://alice.example.com/io.atcr.repo.page/app", CreatedAt: stamp(0)}),
			"star at a manifest":        rec(t, bob, tid(2), &atcr.SailorStar{Subject: "at://" + alice + "/io.atcr.manifest/" + tid(1), CreatedAt: stamp(0)}),
			"star at a bad repository":  rec(t, bob, tid(2), &atcr.SailorStar{Subject: "at://" + alice + "/io.atcr.repo.page/UPPER", CreatedAt: stamp(0)}),
			"captain not at self":       rec(t, hold1, "other", &atcr.HoldCaptain{Owner: alice, DeployedAt: stamp(0)}),
			"captain succeeded by self": rec(t, hold1, "self", &atcr.HoldCaptain{Owner: alice, DeployedAt: stamp(0), Successor: hold1}),
			"captain bad successor":     rec(t, hold1, "self", &atcr.HoldCaptain{Owner: alice, DeployedAt: stamp(0), Successor: "hold2"}),
			"crew with long role":       rec(t, hold1, "m", &atcr.HoldCrew{Member: bob, Role: strings.Repeat("r", 200), Permissions: []string{}, AddedAt: stamp(0)}),
			"profile with a bad hold":   rec(t, alice, "self", &atcr.SailorProfile{DefaultHold: "ftp://x", CreatedAt: stamp(0), UpdatedAt: stamp(0)}),
			"bsky profile wrong type":   {DID: alice, Collection: BskyProfileNSID, RKey: "self", Value: map[string]any{"$type": "app.bsky.feed.post"}},
			"bsky profile long name":    {DID: alice, Collection: BskyProfileNSID, RKey: "self", Value: map[string]any{"$type": BskyProfileNSID, "displayName": strings.Repeat("n", 700)}},
		}
		for name, r := range tests {
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, engine)
				err := e.store.Put(e.ctx, r)
				if name == "repository at the limit" {
					if err != nil {
						t.Fatalf("a 250-byte name is refused: %v", err)
					}
					return
				}
				var invalid *InvalidRecordError
				if !errors.As(err, &invalid) || !errors.Is(err, ErrInvalidRecord) {
					t.Fatalf("err = %v, want *InvalidRecordError", err)
				}
				if invalid.DID != r.DID || invalid.Collection != r.Collection || invalid.RKey != r.RKey {
					t.Errorf("error names %s/%s/%s", invalid.DID, invalid.Collection, invalid.RKey)
				}
				if d := e.dump(t); d != "" {
					t.Errorf("an invalid record wrote rows:\n%s", d)
				}
			})
		}
	})
}

func TestInvalidErrorsSayWhy(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		err := e.store.Put(e.ctx, Record{DID: alice, Collection: "io.atcr.hold.layer", RKey: tid(1), Value: map[string]any{}})
		if !errors.Is(err, ErrUnsupportedCollection) {
			t.Errorf("err = %v, want ErrUnsupportedCollection", err)
		}
		m := imageManifest("app", 1, 0)
		m.MediaType = ""
		r := rec(t, alice, tid(1), m)
		delete(r.Value, "mediaType")
		if err := e.store.Put(e.ctx, r); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("err = %v, want schema.ErrInvalid", err)
		}
		if err := e.store.Delete(e.ctx, "not a did", atcr.TagNSID, "x"); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("delete with a bad DID: %v", err)
		}
		if _, err := ParseJSON(alice, atcr.TagNSID, "x", "", []byte(`{"a": 1.5}`)); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("ParseJSON of a float: %v", err)
		}
	})
}

// A createdAt in the future is clamped to now, so it cannot pin a push to
// the top of the home page.
func TestFutureTimesAreClamped(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		e.put(t, rec(t, alice, tid(1), imageManifest("app", 1, 0)),
			tagRecord(t, alice, "app", "future", tid(1), 1000*24*time.Hour))
		page, err := e.store.RepositoryPage(e.ctx, alice, "app")
		if err != nil {
			t.Fatal(err)
		}
		if got := page.Tags[0].UpdatedAt; !got.Equal(e.clock.Now().Truncate(time.Second)) {
			t.Errorf("future tag time = %v, want now %v", got, e.clock.Now())
		}
	})
}

// Apply writes the valid events and the cursor, and returns the invalid.
func TestApplyBatch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		good := rec(t, alice, tid(1), imageManifest("app", 1, 0))
		bad := rec(t, alice, tid(2), imageManifest("App", 2, 0))
		res, err := e.store.Apply(e.ctx, Batch{CursorUS: 1234, Events: []Event{
			{Record: good}, {Record: bad}, {Record: Record{DID: "x", Collection: atcr.TagNSID, RKey: "a"}, Delete: true},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Applied != 1 || len(res.Invalid) != 2 || res.Invalid[0].RKey != tid(2) {
			t.Errorf("result = %+v", res)
		}
		if n := e.count(t, "manifests"); n != 1 {
			t.Errorf("%d manifests, want 1", n)
		}
		us, ok, err := e.store.Cursor(e.ctx)
		if err != nil || !ok || us != 1234 {
			t.Errorf("cursor = %d %v %v, want 1234", us, ok, err)
		}
	})
}

func TestCursor(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		if _, ok, err := e.store.Cursor(e.ctx); ok || err != nil {
			t.Fatalf("fresh cursor: %v %v", ok, err)
		}
		for _, us := range []int64{1700000000000000, 5} { // a rewind moves it back
			if err := e.store.SetCursor(e.ctx, us); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := e.store.Cursor(e.ctx); got != us || !ok || err != nil {
				t.Errorf("cursor = %d %v %v, want %d", got, ok, err, us)
			}
		}
		if err := e.store.SetCursor(e.ctx, -1); err == nil {
			t.Error("negative cursor stored")
		}
	})
}

// A database failure rolls the whole batch back, cursor included, so the
// consumer retries from the old cursor and skips nothing.
func TestApplyFailureWritesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		if err := e.store.SetCursor(e.ctx, 10); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.SQL().Exec(`ALTER TABLE stars RENAME TO stars_away`); err != nil {
			t.Fatal(err)
		}
		_, err := e.store.Apply(e.ctx, Batch{CursorUS: 20, Events: []Event{
			{Record: rec(t, alice, tid(1), imageManifest("app", 1, 0))},
			{Record: starRecord(t, bob, tid(2), alice, "app")},
		}})
		if err == nil {
			t.Fatal("a batch whose star could not be written succeeded")
		}
		if n := e.count(t, "manifests"); n != 0 {
			t.Errorf("%d manifests written by a failed batch", n)
		}
		if us, _, _ := e.store.Cursor(e.ctx); us != 10 {
			t.Errorf("cursor moved to %d by a failed batch", us)
		}
	})
}
