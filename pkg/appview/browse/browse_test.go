package browse_test

import (
	"errors"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// The pages' questions answered from records the registry wrote: a user's
// repositories, tags with kinds, platforms and sizes, a manifest's blobs,
// annotations and referrers — and the same answers under the DID.
func TestBrowsePushedRepositories(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	app := e.Repo(t, "alice.test/app")
	img := e.image(t, app, "amd64", map[string]string{
		"org.opencontainers.image.title":    "App",
		"org.opencontainers.image.source":   "https://example.com/app",
		"org.opencontainers.image.licenses": "MIT",
		"com.example.private":               "not shown",
	}, []int{300, 500}, "v1")
	arm := e.image(t, app, "arm64", nil, []int{200})
	amd := img
	index := e.push(t, app, map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeOCIIndex,
		"manifests": []any{
			map[string]any{"mediaType": oci.MediaTypeOCIManifest, "digest": amd.String(), "size": 1, "platform": map[string]any{"os": "linux", "architecture": "amd64"}},
			map[string]any{"mediaType": oci.MediaTypeOCIManifest, "digest": arm.String(), "size": 1, "platform": map[string]any{"os": "linux", "architecture": "arm64", "variant": "v8"}},
		},
	}, "multi", "latest")
	sbomBlob := e.blob(t, app, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	sbom := e.push(t, app, map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeOCIManifest, "artifactType": "application/spdx+json",
		"config": e.blob(t, app, oci.MediaTypeOCIEmpty, []byte(`{}`)), "layers": []any{sbomBlob},
		"subject": map[string]any{"mediaType": oci.MediaTypeOCIManifest, "digest": img.String(), "size": 1},
	})
	cli := e.Repo(t, "alice.test/tools/cli")
	e.image(t, cli, "amd64", nil, []int{100}, "edge")

	u, err := e.svc.User(ctx, "alice.test")
	if err != nil {
		t.Fatal(err)
	}
	if u.Owner.DID != e.alice.DID || u.Owner.Handle != "alice.test" || len(u.Repositories) != 2 {
		t.Fatalf("user = %+v", u)
	}
	byName := map[string]browse.RepoSummary{}
	for _, r := range u.Repositories {
		byName[r.Name.String()] = r
	}
	if r := byName["alice.test/app"]; r.Tags != 3 || r.Manifests != 4 || r.LastPush.IsZero() {
		t.Errorf("app summary = %+v, want 3 tags, 4 manifests, a push time", r)
	}
	if r := byName["alice.test/tools/cli"]; r.Tags != 1 || r.Manifests != 1 {
		t.Errorf("tools/cli summary = %+v", r)
	}

	// The DID spelling answers with the handle.
	tags, err := e.svc.Tags(ctx, repoName(t, e.alice.DID.String()+"/app"))
	if err != nil {
		t.Fatal(err)
	}
	if tags.Name.String() != "alice.test/app" || len(tags.Tags) != 3 || tags.Untagged != 2 {
		t.Fatalf("tags = %s, %d tags, %d untagged; want alice.test/app, 3, 2 (arm64 child, SBOM)", tags.Name, len(tags.Tags), tags.Untagged)
	}
	got := map[string]browse.Tag{}
	for _, tg := range tags.Tags {
		got[tg.Name] = tg
	}
	if s := got["v1"].Manifest; s == nil || s.Digest != img || s.Kind != browse.KindImage || s.Size != 300+500+int64(len(`{"architecture":"amd64","os":"linux"}`)) {
		t.Errorf("v1 = %+v", s)
	}
	multi := got["multi"].Manifest
	if multi == nil || multi.Digest != index || multi.Kind != browse.KindIndex ||
		!slices.Equal(multi.Platforms, []string{"linux/amd64", "linux/arm64/v8"}) || multi.Size <= 800 {
		t.Errorf("multi = %+v", multi)
	}

	m, err := e.svc.Manifest(ctx, repoName(t, "alice.test/app"), img)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config == nil || len(m.Layers) != 2 || m.Layers[0].Size != 300 || !slices.Equal(m.Tags, []string{"v1"}) {
		t.Errorf("image details = %+v", m)
	}
	wantAnn := []browse.Annotation{
		{Key: "org.opencontainers.image.title", Value: "App"},
		{Key: "org.opencontainers.image.source", Value: "https://example.com/app"},
		{Key: "org.opencontainers.image.licenses", Value: "MIT"},
	}
	if !slices.Equal(m.Annotations, wantAnn) {
		t.Errorf("annotations = %v, want %v", m.Annotations, wantAnn)
	}
	if len(m.Referrers) != 1 || m.Referrers[0].Digest != sbom || m.Referrers[0].Kind != browse.KindArtifact ||
		m.Referrers[0].ArtifactType != "application/spdx+json" {
		t.Errorf("referrers = %+v", m.Referrers)
	}
	idx, err := e.svc.Manifest(ctx, repoName(t, "alice.test/app"), index)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Children) != 2 || idx.Children[1].Platform != "linux/arm64/v8" || !idx.Children[1].InRepository ||
		!slices.Equal(idx.Tags, []string{"latest", "multi"}) {
		t.Errorf("index details = %+v", idx)
	}
	ref, err := e.svc.Manifest(ctx, repoName(t, "alice.test/app"), sbom)
	if err != nil || ref.Subject == nil || ref.Subject.Digest != img {
		t.Errorf("SBOM details = %+v, %v", ref, err)
	}
}

// The README comes from the io.atcr.repo.page record keyed by the
// repository path ("/" as "~"); a record naming another repository is
// ignored, and no record means no README.
func TestRepositoryDescription(t *testing.T) {
	e := newTestEnv(t)
	e.PDS.PutRecord(t, e.alice.DID, atcr.RepoPageNSID, "tools~cli", atcr.RepoPage{
		Repository: "tools/cli", Description: "# CLI\n<script>alert(1)</script>", CreatedAt: "2026-08-01T00:00:00.000Z",
	})
	e.PDS.PutRecord(t, e.alice.DID, atcr.RepoPageNSID, "app", atcr.RepoPage{
		Repository: "other", Description: "wrong", CreatedAt: "2026-08-01T00:00:00.000Z",
	})
	for name, want := range map[string]string{
		"alice.test/tools/cli":              "# CLI\n<script>alert(1)</script>",
		"alice.test/app":                    "",
		"alice.test/none":                   "",
		e.alice.DID.String() + "/tools/cli": "# CLI\n<script>alert(1)</script>",
	} {
		r, err := e.svc.Repository(t.Context(), repoName(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Description != want || !strings.HasPrefix(r.Name.String(), "alice.test/") {
			t.Errorf("%s: %q named %s, want %q", name, r.Description, r.Name, want)
		}
	}
}

// Unknown identities, repositories and digests are ErrNotFound; a PDS
// that does not answer is ErrUnavailable.
func TestBrowseErrors(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	app := e.Repo(t, "alice.test/app")
	img := e.image(t, app, "amd64", nil, []int{10}, "v1")
	other := oci.FromBytes(oci.SHA256, []byte("other"))

	checks := []struct {
		what string
		err  error
	}{
		{"unknown user", second(e.svc.User(ctx, "nobody.test"))},
		{"unknown owner", second(e.svc.Repository(ctx, repoName(t, "nobody.test/app")))},
		{"unknown repository", second(e.svc.Tags(ctx, repoName(t, "alice.test/none")))},
		{"unknown digest", second(e.svc.Manifest(ctx, repoName(t, "alice.test/app"), other))},
		{"digest of another repository", second(e.svc.Manifest(ctx, repoName(t, "alice.test/none"), img))},
	}
	for _, c := range checks {
		if !errors.Is(c.err, browse.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", c.what, c.err)
		}
	}

	e.clock.Advance(time.Minute) // past the listing's TTL
	e.PDS.SetDown()
	for what, err := range map[string]error{
		"user":  second(e.svc.User(ctx, "alice.test")),
		"repo":  second(e.svc.Repository(ctx, repoName(t, "alice.test/app"))),
		"tags":  second(e.svc.Tags(ctx, repoName(t, "alice.test/app"))),
		"image": second(e.svc.Manifest(ctx, repoName(t, "alice.test/app"), img)),
	} {
		if !errors.Is(err, browse.ErrUnavailable) || errors.Is(err, browse.ErrNotFound) {
			t.Errorf("%s with the PDS down: %v, want ErrUnavailable", what, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// One listing serves the pages for ListTTL; a repository or digest the
// listing lacks lists again, but at most every MinRelist.
func TestListingCache(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	app := e.Repo(t, "alice.test/app")
	e.image(t, app, "amd64", nil, []int{10}, "v1")
	calls := func() int { return e.PDS.Calls("com.atproto.repo.listRecords") }

	base := calls()
	for range 3 {
		if _, err := e.svc.Tags(ctx, repoName(t, "alice.test/app")); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls() - base; got != 2 {
		t.Fatalf("three tag lists made %d listRecords calls, want 2 (one per collection)", got)
	}
	// A tag pushed meanwhile shows only after the TTL...
	e.image(t, app, "arm64", nil, []int{20}, "v2")
	if tags, _ := e.svc.Tags(ctx, repoName(t, "alice.test/app")); len(tags.Tags) != 1 {
		t.Fatalf("within the TTL: %d tags", len(tags.Tags))
	}
	e.clock.Advance(browse.DefaultListTTL)
	if tags, _ := e.svc.Tags(ctx, repoName(t, "alice.test/app")); len(tags.Tags) != 2 {
		t.Fatalf("after the TTL: %d tags", len(tags.Tags))
	}
	// ...but a new repository is looked for at once when the listing is
	// older than MinRelist, and not sooner.
	e.image(t, e.Repo(t, "alice.test/new"), "amd64", nil, []int{30}, "v1")
	if _, err := e.svc.Tags(ctx, repoName(t, "alice.test/new")); !errors.Is(err, browse.ErrNotFound) {
		t.Fatalf("new repository within MinRelist: %v", err)
	}
	e.clock.Advance(browse.DefaultMinRelist)
	if _, err := e.svc.Tags(ctx, repoName(t, "alice.test/new")); err != nil {
		t.Fatalf("new repository after MinRelist: %v", err)
	}
}

// Records are user input: ones with a bad digest, a repository outside
// the OCI grammar or a bad tag are skipped, not shown.
func TestHostileRecordsAreSkipped(t *testing.T) {
	e := newTestEnv(t)
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	d := oci.FromBytes(oci.SHA256, body)
	blob := e.PDS.PutBlob(e.alice.DID, body, oci.MediaTypeOCIIndex)
	put := func(rkey, repo, digest string) {
		e.PDS.PutRecord(t, e.alice.DID, atcr.ManifestNSID, rkey, atcr.Manifest{
			Repository: repo, Digest: digest, MediaType: oci.MediaTypeOCIIndex, SchemaVersion: 2,
			ManifestBlob: &blob, CreatedAt: "2026-08-01T00:00:00.000Z",
		})
	}
	put("3kaaaaaaaaaa2", "app", d.String())
	put("3kaaaaaaaaab2", "../etc", d.String())
	put("3kaaaaaaaaac2", "UPPER", d.String())
	put("3kaaaaaaaaad2", "bad", "sha256:nothex")
	tag := func(repo, name string) {
		e.PDS.PutRecord(t, e.alice.DID, atcr.TagNSID, strings.ReplaceAll(repo, "/", "~")+":"+strings.ReplaceAll(name, "/", "_"), atcr.Tag{
			Repository: repo, Tag: name, Manifest: "at://" + e.alice.DID.String() + "/" + atcr.ManifestNSID + "/3kaaaaaaaaaa2",
			CreatedAt: "2026-08-01T00:00:00.000Z",
		})
	}
	tag("app", "v1")
	tag("app", "-bad")
	u, err := e.svc.User(t.Context(), "alice.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Repositories) != 1 || u.Repositories[0].Name.String() != "alice.test/app" || u.Repositories[0].Tags != 1 {
		t.Fatalf("repositories = %+v, want only alice.test/app with one tag", u.Repositories)
	}
	// The record key convention of the registry, kept by this test's tags.
	if k := pdsread.TagRecordKey("app", mustTag(t, "v1")); k != "app:v1" {
		t.Fatalf("tag record key %q", k)
	}
}

func mustTag(t testing.TB, s string) oci.Tag {
	t.Helper()
	tg, err := oci.ParseTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// A manifest too large for its record's annotations (the registry drops
// them above 256 KiB of JSON) has them read from its exact bytes; a hostile
// value is cut to a page-sized length.
func TestAnnotationsOfLargeManifests(t *testing.T) {
	e := newTestEnv(t)
	long := strings.Repeat("x", 300<<10)
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],` +
		`"annotations":{"org.opencontainers.image.title":"Big","org.opencontainers.image.description":"` + long + `"}}`)
	d := oci.FromBytes(oci.SHA256, body)
	blob := e.PDS.PutBlob(e.alice.DID, body, oci.MediaTypeOCIIndex)
	e.PDS.PutRecord(t, e.alice.DID, atcr.ManifestNSID, "3kaaaaaaaaaa2", atcr.Manifest{
		Repository: "big", Digest: d.String(), MediaType: oci.MediaTypeOCIIndex, SchemaVersion: 2,
		ManifestBlob: &blob, CreatedAt: "2026-08-01T00:00:00.000Z",
	})
	m, err := e.svc.Manifest(t.Context(), repoName(t, "alice.test/big"), d)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Annotations) != 2 || m.Annotations[0].Value != "Big" || len([]rune(m.Annotations[1].Value)) != 2001 {
		t.Fatalf("annotations: %d, first %q", len(m.Annotations), m.Annotations[0].Value)
	}
}

// An account's records are read up to MaxRecords per collection and
// MaxListingBytes in all: a page then says the listing is partial.
func TestListingBounds(t *testing.T) {
	for name, adjust := range map[string]func(*browse.Options){
		"records": func(o *browse.Options) { o.MaxRecords = 2 },
		"bytes":   func(o *browse.Options) { o.MaxListingBytes = 1200 },
	} {
		t.Run(name, func(t *testing.T) {
			e := newTestEnvWith(t, adjust)
			for _, repo := range []string{"alice.test/a", "alice.test/b", "alice.test/c"} {
				e.image(t, e.Repo(t, repo), "amd64", nil, []int{10}, "v1")
			}
			u, err := e.svc.User(t.Context(), "alice.test")
			if err != nil {
				t.Fatal(err)
			}
			if !u.Truncated || len(u.Repositories) == 0 || len(u.Repositories) > 2 {
				t.Fatalf("truncated %v with %d repositories, want a partial listing of 1-2", u.Truncated, len(u.Repositories))
			}
		})
	}
	e := newTestEnv(t)
	e.image(t, e.Repo(t, "alice.test/a"), "amd64", nil, []int{10}, "v1")
	if u, err := e.svc.User(t.Context(), "alice.test"); err != nil || u.Truncated || len(u.Repositories) != 1 {
		t.Fatalf("default bounds: %+v, %v", u, err)
	}
}

// The cache keeps at most MaxCachedBytes of listings: the least recently
// used account goes first, and is listed again when visited.
func TestListingCacheEviction(t *testing.T) {
	e := newTestEnvWith(t, func(o *browse.Options) { o.MaxCachedBytes = 1 })
	bob := e.AddUser("bob.test")
	e.image(t, e.Repo(t, "alice.test/a"), "amd64", nil, []int{10}, "v1")
	e.image(t, e.Repo(t, "bob.test/b"), "amd64", nil, []int{10}, "v1")
	calls := func() int { return e.PDS.Calls("com.atproto.repo.listRecords") }
	base := calls()
	for _, who := range []string{"alice.test", "alice.test", bob.Handle, "alice.test"} {
		if _, err := e.svc.User(t.Context(), who); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls() - base; got != 6 {
		t.Fatalf("%d listRecords calls, want 6: alice once, bob, then alice again after eviction", got)
	}
}

// An owner whose PDS answers the listing with 404 (it holds no such
// repository) is not found, not a failure: the pages and the scan
// endpoints say 404 instead of 500 with an ERROR line per request.
func TestListingNotFoundIsNotFound(t *testing.T) {
	e := newTestEnv(t)
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"NotFound","message":"no such method or repository"}`))
	}))
	t.Cleanup(empty.Close)
	const did = syntax.DID("did:plc:nothinghere2222222222222")
	e.Dir.Insert(identity.Identity{DID: did, Handle: "nothing.test", AlsoKnownAs: []string{"at://nothing.test"},
		Services: map[string]identity.ServiceEndpoint{"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: empty.URL}}})
	d := oci.FromBytes(oci.SHA256, []byte("m"))
	for what, err := range map[string]error{
		"tags":   second(e.svc.Tags(t.Context(), repoName(t, "nothing.test/app"))),
		"locate": second(e.svc.Locate(t.Context(), repoName(t, "nothing.test/app"), d)),
	} {
		if !errors.Is(err, browse.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", what, err)
		}
	}
}
