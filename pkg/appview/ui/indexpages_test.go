package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
)

const (
	bobDID   = "did:plc:bob222222222222222222222"
	carolDID = "did:plc:carol2222222222222222222"
	holdDID  = "did:web:hold.atcr.example"
)

// indexEnv is a UI over a real index in the test database.
type indexEnv struct {
	*testEnv
	store *index.Store
	now   time.Time
}

func newIndexEnv(t testing.TB, repos Repositories) *indexEnv {
	var ie *indexEnv
	e := newTestEnvWithOptions(t, func(e *testEnv, o *Options) {
		ie = newIndexEnvOver(t, e, o)
		o.Repositories = repos
	})
	ie.testEnv = e
	return ie
}

// newIndexEnvOver opens the index over e's database and sets o.Index.
func newIndexEnvOver(t testing.TB, e *testEnv, o *Options) *indexEnv {
	ie := &indexEnv{testEnv: e, now: time.Now().UTC().Truncate(time.Second)}
	ie.store = index.New(e.database, index.Options{FlushInterval: time.Hour, FlushEvents: 1 << 30})
	t.Cleanup(func() { ie.store.Close(context.Background()) })
	o.Index = ie.store
	return ie
}

// mkey is a manifest record key (a TID) numbered n.
func mkey(n int) string { return syntax.NewTID(1_700_000_000_000_000+int64(n), 0).String() }

func testDigest(n int) string { return fmt.Sprintf("sha256:%064x", n) }

// stamp is a record time d before the environment's start.
func (ie *indexEnv) stamp(d time.Duration) string { return ie.now.Add(-d).Format(time.RFC3339) }

func record(t testing.TB, did, rkey string, v interface{ NSID() string }) index.Record {
	t.Helper()
	m, err := atcr.ToMap(v)
	if err != nil {
		t.Fatal(err)
	}
	return index.Record{DID: did, Collection: v.NSID(), RKey: rkey, CID: "bafyreib" + strings.ToLower(strings.NewReplacer(":", "", "~", "", ".", "").Replace(rkey)), Value: m}
}

func put(t testing.TB, s *index.Store, records ...index.Record) {
	t.Helper()
	for _, r := range records {
		if err := s.Put(context.Background(), r); err != nil {
			t.Fatalf("put %s/%s/%s: %v", r.DID, r.Collection, r.RKey, err)
		}
	}
}

// image is an image manifest record (n picks the digests) with annotations.
func image(repo string, n int, createdAt string, annotations map[string]any) *atcr.Manifest {
	return &atcr.Manifest{
		Repository: repo, Digest: testDigest(n), MediaType: "application/vnd.oci.image.manifest.v1+json",
		SchemaVersion: 2, CreatedAt: createdAt, HoldDID: holdDID, Annotations: annotations,
		Config: &atcr.Manifest_BlobReference{Digest: testDigest(n + 1000000), MediaType: "application/vnd.oci.image.config.v1+json", Size: 512},
		Layers: []atcr.Manifest_BlobReference{
			{Digest: testDigest(n + 2000000), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Size: 3 << 20},
		},
	}
}

func multiArch(repo string, n int, createdAt string) *atcr.Manifest {
	return &atcr.Manifest{
		Repository: repo, Digest: testDigest(n), MediaType: "application/vnd.oci.image.index.v1+json",
		SchemaVersion: 2, CreatedAt: createdAt, HoldDID: holdDID,
		Manifests: []atcr.Manifest_ManifestReference{
			{Digest: testDigest(n + 1), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 500, Platform: &atcr.Manifest_Platform{OS: "linux", Architecture: "amd64"}},
			{Digest: testDigest(n + 2), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 600, Platform: &atcr.Manifest_Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
		},
	}
}

func tag(t testing.TB, did, repo, name, manifestRKey, at string) index.Record {
	return record(t, did, pdsread.RepoPageKey(repo)+":"+name, &atcr.Tag{
		Repository: repo, Tag: name, Manifest: "at://" + did + "/" + atcr.ManifestNSID + "/" + manifestRKey,
		CreatedAt: at, UpdatedAt: at,
	})
}

func star(t testing.TB, starrer, owner, repo, at string) index.Record {
	return record(t, starrer, starKey(owner, repo), &atcr.SailorStar{
		Subject: "at://" + owner + "/" + atcr.RepoPageNSID + "/" + pdsread.RepoPageKey(repo), CreatedAt: at,
	})
}

func profile(t testing.TB, did, displayName, description string) index.Record {
	t.Helper()
	raw := fmt.Sprintf(`{"$type":"app.bsky.actor.profile","displayName":%q,"description":%q,`+
		`"avatar":{"$type":"blob","ref":{"$link":"bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"},"mimeType":"image/png","size":1234}}`,
		displayName, description)
	r, err := index.ParseJSON(did, index.BskyProfileNSID, "self", "", []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hostileReadme tries script, event handlers, javascript: links, styles
// and a huge image.
const hostileReadme = "# Web server\n\nServes **static** files. <script>alert('readme')</script>\n\n" +
	"<img src=x onerror=\"alert('img')\"> <a href=\"javascript:alert('link')\">click</a> [md](javascript:alert('md'))\n\n" +
	"<div style=\"position:fixed\" onclick=\"alert('div')\">overlay</div>\n\n" +
	"![huge](https://img.example/huge.png =99999x99999) <img src=\"https://img.example/big.png\" width=\"100000\" height=\"100000\">\n\n" +
	"<iframe src=\"https://evil.example\"></iframe>\n\n```sh\ndocker run atcr.example/alice.test/web\n```\n"

// seed indexes alice's web (multi-arch, README from a repo page, two
// stars) and api (README from the description annotation, pulled), bob's
// tool, profiles and handles.
func (ie *indexEnv) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	alice := aliceDID.String()
	put(t, ie.store,
		profile(t, alice, "Alice <b>Liddell</b>", "Down the rabbit hole <script>x()</script>"),
		record(t, alice, mkey(1), image("web", 1, ie.stamp(72*time.Hour), map[string]any{
			"org.opencontainers.image.description": "A web server <img src=x onerror=alert(1)>",
			"org.opencontainers.image.title":       "Web",
		})),
		record(t, alice, mkey(2), multiArch("web", 10, ie.stamp(48*time.Hour))),
		tag(t, alice, "web", "v1", mkey(1), ie.stamp(72*time.Hour)),
		tag(t, alice, "web", "latest", mkey(2), ie.stamp(48*time.Hour)),
		record(t, alice, pdsread.RepoPageKey("web"), &atcr.RepoPage{Repository: "web", Description: hostileReadme, CreatedAt: ie.stamp(72 * time.Hour)}),
		record(t, alice, mkey(3), image("api", 20, ie.stamp(24*time.Hour), map[string]any{
			"org.opencontainers.image.description": "The API <b>server</b>",
		})),
		tag(t, alice, "api", "stable", mkey(3), ie.stamp(24*time.Hour)),
		record(t, bobDID, mkey(4), image("tool", 30, ie.stamp(2*time.Hour), nil)),
		tag(t, bobDID, "tool", "edge", mkey(4), ie.stamp(2*time.Hour)),
		star(t, bobDID, alice, "web", ie.stamp(time.Hour)),
		star(t, carolDID, alice, "web", ie.stamp(time.Hour)),
		star(t, bobDID, alice, "api", ie.stamp(time.Hour)),
	)
	for did, h := range map[string]string{alice: "alice.test", bobDID: "bob.test"} {
		if err := ie.store.SetHandle(ctx, did, h); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		ie.store.CountPull(alice, "api")
	}
	ie.store.CountPull(bobDID, "tool")
	ie.store.CountPush(alice, "api")
	if err := ie.store.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

type pageCase struct {
	name    string
	path    string
	status  int
	want    []string
	notWant []string
}

func (ie *indexEnv) check(t *testing.T, b *browser, cases []pageCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := b.get(c.path)
			if r.StatusCode != c.status {
				t.Fatalf("%s: %d, want %d\n%s", c.path, r.StatusCode, c.status, r.body)
			}
			for _, w := range c.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("%s lacks %q:\n%s", c.path, w, r.body)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(r.body, w) {
					t.Errorf("%s has %q:\n%s", c.path, w, r.body)
				}
			}
		})
	}
}

// hostileOutput is what must never reach a page from the seeded records.
var hostileOutput = []string{"<script>alert", `onerror="`, "onerror=alert(1)>", `onclick="`, `href="javascript:`, "<iframe", `style="`,
	"<b>Liddell", "<b>server", `width="100000"`, "<img src=x"}

func TestHomeFromIndex(t *testing.T) {
	ie := newIndexEnv(t, nil)
	ie.seed(t)
	b := ie.browser()
	ie.check(t, b, []pageCase{
		{"feed", "/", 200, []string{
			`id="recent-pushes"`, `href="/r/bob.test/tool">bob.test/tool</a>:<code class="tag-name">edge</code>`,
			`href="/r/alice.test/web">alice.test/web</a>:<code class="tag-name">latest</code>`, "3.0 MiB",
			`id="most-starred"`, `id="most-pulled"`, "★ 2", "3 pulls", `action="/search"`, `id="theme-toggle"`,
		}, hostileOutput},
		{"a page past the end", "/?page=9", 200, []string{`id="no-pushes"`, `href="/?page=8"`}, nil},
		{"a bad page number", "/?page=-3", 200, []string{"Page 1"[:0] + `id="push-list"`}, nil},
	})
	// Newest push first: bob's edge (2 h ago) before alice's latest (48 h).
	body := b.get("/").body
	if strings.Index(body, "bob.test/tool") > strings.Index(body, "alice.test/web</a>:") {
		t.Error("recent pushes are not newest first")
	}
	// Most starred: web (2) before api (1); most pulled: api (3) before tool (1).
	starred := body[strings.Index(body, `id="most-starred"`):]
	if strings.Index(starred, "alice.test/web") > strings.Index(starred, "alice.test/api") {
		t.Error("most starred out of order")
	}
	pulled := body[strings.Index(body, `id="most-pulled"`):]
	if strings.Index(pulled, "alice.test/api") > strings.Index(pulled, "bob.test/tool") || strings.Contains(pulled, "alice.test/web") {
		t.Errorf("most pulled wrong:\n%s", pulled)
	}
}

func TestHomePaging(t *testing.T) {
	ie := newIndexEnv(t, nil)
	var records []index.Record
	for i := range feedPageSize + 5 {
		rk := mkey(100 + i)
		records = append(records, record(t, bobDID, rk, image("tool", 100+i, ie.stamp(time.Duration(i)*time.Minute), nil)),
			tag(t, bobDID, "tool", fmt.Sprintf("t%02d", i), rk, ie.stamp(time.Duration(i)*time.Minute)))
	}
	put(t, ie.store, records...)
	b := ie.browser()
	first, second := b.get("/").body, b.get("/?page=2").body
	if !strings.Contains(first, ">t00<") || strings.Contains(first, ">t20<") || !strings.Contains(first, `href="/?page=2"`) {
		t.Errorf("page 1 wrong:\n%s", first)
	}
	if !strings.Contains(second, ">t20<") || !strings.Contains(second, ">t24<") || strings.Contains(second, ">t19<") ||
		strings.Contains(second, `href="/?page=3"`) || !strings.Contains(second, `href="/?page=1"`) {
		t.Errorf("page 2 wrong:\n%s", second)
	}
}

func TestSearchPage(t *testing.T) {
	ie := newIndexEnv(t, nil)
	ie.seed(t)
	b := ie.browser()
	q := func(s string) string { return "/search?q=" + url.QueryEscape(s) }
	ie.check(t, b, []pageCase{
		{"by name", q("web"), 200, []string{`href="/r/alice.test/web"`, `id="no-users"`}, []string{`href="/r/bob.test/tool"`}},
		{"by handle finds repositories and the user", q("alice"), 200,
			[]string{`href="/r/alice.test/web"`, `href="/r/alice.test/api"`, `href="/u/alice.test"`, "Alice &lt;b&gt;Liddell&lt;/b&gt;"}, hostileOutput},
		{"by description", q("api server"), 200, []string{`href="/r/alice.test/api"`, "The API &lt;b&gt;server&lt;/b&gt;"}, hostileOutput},
		{"no match", q("nothingmatches"), 200, []string{`id="no-repositories"`, "No repository matches “nothingmatches”."}, nil},
		{"empty", "/search", 200, []string{`id="q"`}, []string{`id="search-repositories"`}},
		{"only punctuation", q(`"*:()^-`), 200, []string{`id="no-words"`}, nil},
		{"FTS syntax is text", q(`web OR tool NEAR(x) "`), 200, []string{`id="search-repositories"`}, nil},
		{"hostile query is escaped", q(`<script>alert(1)</script>`), 200, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script>alert(1)"}},
		{"huge query", q(strings.Repeat("web ", 5000)), 200, []string{`href="/r/alice.test/web"`}, nil},
		{"invalid UTF-8", "/search?q=%ff%fe" + "web", 200, []string{`href="/r/alice.test/web"`}, []string{"\xff", "\xfe"}},
		{"page past the end", q("alice") + "&page=40", 200, []string{`id="no-repositories"`, "page=39"}, nil},
	})
}

func TestSearchPaging(t *testing.T) {
	ie := newIndexEnv(t, nil)
	var records []index.Record
	for i := range feedPageSize + 3 {
		repo := fmt.Sprintf("svc%02d", i)
		records = append(records, record(t, bobDID, mkey(200+i), image(repo, 100+i, ie.stamp(time.Hour), nil)),
			tag(t, bobDID, repo, "v1", mkey(200+i), ie.stamp(time.Hour)))
	}
	put(t, ie.store, records...)
	b := ie.browser()
	first, second := b.get("/search?q=svc").body, b.get("/search?q=svc&page=2").body
	if n := strings.Count(first, `<a href="/r/`); n != feedPageSize || !strings.Contains(first, `href="/search?q=svc&amp;page=2"`) {
		t.Errorf("page 1 has %d results:\n%s", n, first)
	}
	if n := strings.Count(second, `<a href="/r/`); n != 3 {
		t.Errorf("page 2 has %d results:\n%s", n, second)
	}
}

func TestRepositoryPageFromIndex(t *testing.T) {
	ie := newIndexEnv(t, nil)
	ie.seed(t)
	b := ie.browser()
	ie.check(t, b, []pageCase{
		{"README from the repo page, sanitized", "/r/alice.test/web", 200, []string{
			`<h1 id="repo-name">web</h1>`, `href="/u/alice.test"`, `id="readme"`, `<h1 id="readme-web-server">Web server</h1>`,
			"<strong>static</strong>", `rel="nofollow noopener noreferrer"`, `src="https://img.example/big.png"`,
			`id="pull-command">docker pull atcr.example/alice.test/web:latest</code>`,
			`data-copy="docker pull atcr.example/alice.test/web:v1"`,
			"index · linux/amd64, linux/arm64/v8", "image", "3.0 MiB", "2 days ago", "3 days ago",
			`<span id="star-count" class="count">2 stars</span>`, `<span id="pull-count" class="count">0 pulls</span>`, `<span id="push-count" class="count">0 pushes</span>`,
			`<p class="muted" id="repo-title">Web</p>`, "docker run atcr.example/alice.test/web",
		}, append(hostileOutput, `id="star-button"`, "<style")},
		{"README from the description annotation, as text", "/r/alice.test/api", 200, []string{
			"The API &lt;b&gt;server&lt;/b&gt;", "3 pulls", "1 star<", "stable", `<span id="push-count" class="count">1 push</span>`,
		}, hostileOutput},
		{"by DID", "/r/" + aliceDID.String() + "/web", 200, []string{`<h1 id="repo-name">web</h1>`, "alice.test/web:latest"}, nil},
		{"owner unknown to the index", "/r/nobody.test/web", 404, nil, nil},
		{"repository unknown to the index", "/r/alice.test/nothing", 404, nil, nil},
		{"partials need the PDS reader", "/r/alice.test/web/-/tags", 404, nil, nil},
	})
	// Without the PDS reader, no link to the manifest partial.
	if body := b.get("/r/alice.test/web").body; strings.Contains(body, "/-/manifest/") {
		t.Error("manifest details linked without Options.Repositories")
	}
}

// With both the index and the PDS reader, an indexed repository comes
// from the index and links the manifest partial; anything else still
// comes from the PDS reader.
func TestRepositoryPageFallsBackToPDS(t *testing.T) {
	ie := newIndexEnv(t, fakeRepos{})
	ie.seed(t)
	b := ie.browser()
	ie.check(t, b, []pageCase{
		{"indexed", "/r/alice.test/web", 200, []string{`id="star-count"`, `hx-get="/r/alice.test/web/-/manifest/` + testDigest(10) + `"`}, nil},
		{"not indexed: the PDS page", "/r/alice.test/app", 200, []string{`hx-get="/r/alice.test/app/-/tags"`}, []string{`id="star-count"`}},
		{"partial from the PDS", "/r/alice.test/app/-/tags", 200, []string{`<code class="tag-name">v1</code>`}, nil},
	})
}

func TestUserPageFromIndex(t *testing.T) {
	ie := newIndexEnv(t, nil)
	ie.seed(t)
	b := ie.browser()
	ie.check(t, b, []pageCase{
		{"alice", "/u/alice.test", 200, []string{
			`<h1 id="user-name">Alice &lt;b&gt;Liddell&lt;/b&gt;</h1>`, `<span id="user-handle">alice.test</span>`,
			`src="https://cdn.bsky.app/img/avatar/plain/` + aliceDID.String() + `/bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy@jpeg"`,
			"Down the rabbit hole &lt;script&gt;", `href="/r/alice.test/web"`, `href="/r/alice.test/api"`, `id="no-stars"`,
		}, hostileOutput},
		{"bob's stars", "/u/bob.test", 200, []string{`id="user-stars"`, `href="/r/alice.test/web"`, `href="/r/bob.test/tool"`}, nil},
		{"by DID", "/u/" + bobDID, 200, []string{`<span id="user-handle">bob.test</span>`}, nil},
		{"unknown", "/u/nobody.test", 404, nil, nil},
		{"bad name", "/u/not_a_handle", 400, nil, nil},
	})
}

// Without Options.Index nothing changes: no search route, no search box.
func TestNoIndexNoSearch(t *testing.T) {
	e := newTestEnv(t)
	b := e.browser()
	if r := b.get("/search?q=x"); r.StatusCode != http.StatusNotFound {
		t.Errorf("/search without an index: %d", r.StatusCode)
	}
	if body := b.get("/").body; strings.Contains(body, `action="/search"`) || strings.Contains(body, `id="recent-pushes"`) {
		t.Error("home page shows index parts without an index")
	}
}

// A README edited in the PDS (a new io.atcr.repo.page record in the index)
// shows at once: rendered READMEs are cached by their source, not by
// repository.
func TestEditedReadmeShows(t *testing.T) {
	ie := newIndexEnv(t, nil)
	ie.seed(t)
	b := ie.browser()
	if body := b.get("/r/alice.test/web").body; !strings.Contains(body, "<strong>static</strong>") {
		t.Fatalf("first README missing:\n%s", body)
	}
	put(t, ie.store, record(t, aliceDID.String(), pdsread.RepoPageKey("web"),
		&atcr.RepoPage{Repository: "web", Description: "# Edited\n\nNow with *news*.", CreatedAt: ie.stamp(time.Hour)}))
	body := b.get("/r/alice.test/web").body
	if !strings.Contains(body, "<em>news</em>") || strings.Contains(body, "<strong>static</strong>") {
		t.Errorf("edited README not shown:\n%s", body)
	}
}

// A handle the index has no row for (no identity event seen yet) is
// resolved through the directory; the page comes from the index and the
// handle is remembered. Without the directory it stays unknown.
func TestRepositoryPageResolvesAnUnindexedHandle(t *testing.T) {
	dir := identity.NewMockDirectory()
	dir.Insert(identity.Identity{DID: aliceDID, Handle: syntax.Handle("alice.test")})
	var ie *indexEnv
	e := newTestEnvWithOptions(t, func(e *testEnv, o *Options) {
		ie = newIndexEnvOver(t, e, o)
		o.Directory = dir
	})
	ie.testEnv = e
	ie.seed(t)
	ctx := context.Background()
	if err := ie.store.SetHandle(ctx, aliceDID.String(), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := ie.store.UserByHandle(ctx, "alice.test"); err == nil {
		t.Fatal("the handle is still indexed")
	}
	b := ie.browser()
	ie.check(t, b, []pageCase{
		{"resolved by the directory", "/r/alice.test/web", 200, []string{`<h1 id="repo-name">web</h1>`, `id="star-count"`}, nil},
		{"a handle nobody has", "/r/nobody.test/web", 404, nil, nil},
	})
	if u, err := ie.store.UserByHandle(ctx, "alice.test"); err != nil || u.DID != aliceDID {
		t.Errorf("handle not remembered: %+v %v", u, err)
	}

	plain := newIndexEnv(t, nil)
	plain.seed(t)
	if err := plain.store.SetHandle(ctx, aliceDID.String(), ""); err != nil {
		t.Fatal(err)
	}
	plain.check(t, plain.browser(), []pageCase{{"no directory", "/r/alice.test/web", 404, nil, nil}})
}

// A manifest record's artifactType falls back to its config's media type
// (what the AppView writes for a plain image): that is an image, not an
// artifact; any other artifactType is an artifact.
func TestTagKindOfImagesAndArtifacts(t *testing.T) {
	ie := newIndexEnv(t, nil)
	alice := aliceDID.String()
	plain := image("app", 40, ie.stamp(time.Hour), nil)
	plain.ArtifactType = "application/vnd.oci.image.config.v1+json"
	docker := image("app", 41, ie.stamp(time.Hour), nil)
	docker.MediaType = "application/vnd.docker.distribution.manifest.v2+json"
	docker.ArtifactType = "application/vnd.docker.container.image.v1+json"
	sbom := image("app", 42, ie.stamp(time.Hour), nil)
	sbom.ArtifactType = "application/spdx+json"
	put(t, ie.store,
		record(t, alice, mkey(40), plain), tag(t, alice, "app", "oci", mkey(40), ie.stamp(time.Hour)),
		record(t, alice, mkey(41), docker), tag(t, alice, "app", "docker", mkey(41), ie.stamp(time.Hour)),
		record(t, alice, mkey(42), sbom), tag(t, alice, "app", "sbom", mkey(42), ie.stamp(time.Hour)),
	)
	body := ie.browser().get("/r/" + alice + "/app").body
	if n := strings.Count(body, "artifact · "); n != 1 || !strings.Contains(body, "artifact · application/spdx&#43;json") {
		t.Errorf("want exactly the SBOM as an artifact, got %d artifacts:\n%s", n, body)
	}
	if strings.Contains(body, "artifact · application/vnd.oci.image.config") || strings.Contains(body, "artifact · application/vnd.docker.container") {
		t.Error("a plain image is labelled as an artifact")
	}
}
