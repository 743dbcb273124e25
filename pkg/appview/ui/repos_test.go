package ui

import (
	"net/http"
	"strings"
	"testing"
)

// shortHex is the 12 hex digits a row shows of a digest.
func shortHex(s string) string { return s[len("sha256:") : len("sha256:")+12] }

// The user and repository pages, their partials and their errors, for an
// anonymous visitor.
func TestRepositoryPages(t *testing.T) {
	e := newTestEnvWith(t, fakeRepos{})
	b := e.browser()
	htmx := map[string]string{"HX-Request": "true"}
	cases := []struct {
		name    string
		path    string
		hx      bool
		status  int
		want    []string
		notWant []string
	}{
		{"user page", "/u/alice.test", false, 200,
			[]string{`<h1 id="user-name">alice.test</h1>`, aliceDID.String(), `href="/r/alice.test/app"`, `href="/r/alice.test/tools/cli"`, ">tools/cli<", "2026-08-01 12:30 UTC"}, nil},
		{"user page by DID shows the handle", "/u/" + aliceDID.String(), false, 200, []string{`<h1 id="user-name">alice.test</h1>`}, nil},
		{"user page, handle in capitals", "/u/Alice.Test", false, 200, []string{`<h1 id="user-name">alice.test</h1>`}, nil},
		{"repository page", "/r/alice.test/app", false, 200,
			[]string{`<h1 id="repo-name">app</h1>`, `href="/u/alice.test"`, `hx-get="/r/alice.test/app/-/tags"`, `hx-trigger="load"`,
				`<pre class="readme" id="readme"># App`, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"},
			[]string{hostile}},
		{"repository page by DID", "/r/" + aliceDID.String() + "/app", false, 200, []string{`hx-get="/r/alice.test/app/-/tags"`, "alice.test/app"}, nil},
		{"tags partial", "/r/alice.test/app/-/tags", true, 200,
			[]string{`id="pull-command">docker pull atcr.example/alice.test/app:latest</code>`,
				`data-copy="docker pull atcr.example/alice.test/app:v1"`,
				`<code class="tag-name">v1</code>`, "sha256:" + shortHex(imageDigest.String()), `title="` + imageDigest.String() + `"`,
				"1.5 KiB", "index · linux/amd64, linux/arm64/v8", "3.0 MiB", "artifact · application/spdx&#43;json",
				"manifest record missing", `hx-get="/r/alice.test/app/-/manifest/` + imageDigest.String() + `"`,
				"1 untagged manifest"},
			[]string{"<html", "<!doctype"}},
		{"tags page without HTMX", "/r/alice.test/app/-/tags", false, 200, []string{"<!doctype html>", `<code class="tag-name">v1</code>`}, nil},
		{"manifest partial", "/r/alice.test/app/-/manifest/" + imageDigest.String(), true, 200,
			[]string{"sha256:" + shortHex(layerDigest.String()), "1.0 KiB", "application/vnd.oci.image.layer.v1.tar&#43;gzip", "config",
				"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", `<a href="https://example.com/src" rel="nofollow noopener noreferrer">`,
				"javascript:alert(1)", "application/spdx&#43;json", `hx-get="/r/alice.test/app/-/manifest/` + sbomDigest.String() + `"`},
			[]string{hostile, `href="javascript:`, "<html"}},
		{"unknown user", "/u/nobody.test", false, 404, []string{"No account answers to “nobody.test”."}, nil},
		{"unknown owner of a repository", "/r/nobody.test/app", false, 404, []string{"No account answers to “nobody.test”."}, nil},
		{"repository without images", "/r/alice.test/empty/-/tags", true, 404,
			[]string{`<p class="error" role="alert">No images have been pushed to alice.test/empty.</p>`}, []string{"<html"}},
		{"unknown manifest", "/r/alice.test/app/-/manifest/" + indexDigest.String(), true, 404, []string{"has no manifest"}, nil},
		{"bad handle", "/u/not_a_handle", false, 400, []string{"neither a handle"}, nil},
		{"user path with a slash", "/u/alice.test/app", false, 400, nil, nil},
		{"bad repository name", "/r/alice.test/App", false, 400, []string{"is not &lt;handle-or-did&gt;/&lt;repository&gt;"}, nil},
		{"traversal", "/r/alice.test/../app", false, 400, nil, nil},
		{"bad digest", "/r/alice.test/app/-/manifest/sha256:zz", true, 400, []string{"sha256:&lt;64 hex digits&gt;"}, nil},
		{"unknown partial", "/r/alice.test/app/-/nothing", false, 404, nil, nil},
		{"PDS failure, page", "/u/down.test", false, 502, []string{"did not answer", "Try again in a minute"}, []string{"10.9.8.7", "refused"}},
		{"PDS failure, repository", "/r/down.test/app", false, 502, []string{"did not answer"}, []string{"10.9.8.7"}},
		{"PDS failure, partial", "/r/down.test/app/-/tags", true, 502, []string{`<p class="error" role="alert">`}, []string{"10.9.8.7", "<html"}},
		{"internal failure", "/u/broken.test", false, 500, []string{"Something went wrong"}, []string{"10.9.8.7", "bug"}},
		{"rate limited, page", "/u/busy.test", false, 429, []string{"Wait a few seconds"}, []string{"did not answer"}},
		{"rate limited, partial", "/r/busy.test/app/-/tags", true, 429, []string{`<p class="error" role="alert">`}, []string{"<html"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr map[string]string
			if c.hx {
				hdr = htmx
			}
			r := b.do(http.MethodGet, c.path, nil, hdr)
			if r.StatusCode != c.status {
				t.Fatalf("%s: %d, want %d\n%s", c.path, r.StatusCode, c.status, r.body)
			}
			if retry := r.Header.Get("Retry-After"); (c.status == http.StatusTooManyRequests) != (retry == "3") {
				t.Errorf("%s: Retry-After %q (a 429 says 3: 2.5 s rounded up)", c.path, retry)
			}
			for _, w := range c.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("%s lacks %q:\n%s", c.path, w, r.body)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(r.body, w) {
					t.Errorf("%s contains %q:\n%s", c.path, w, r.body)
				}
			}
			checkPageSecurity(t, c.path, r)
		})
	}
}

// checkPageSecurity: every page and fragment carries the CSP, is never
// cached and has no inline script or event handler.
func checkPageSecurity(t *testing.T, path string, r *response) {
	t.Helper()
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("%s: CSP %q", path, csp)
	}
	if r.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: Cache-Control %q, Content-Type %q", path, r.Header.Get("Cache-Control"), r.Header.Get("Content-Type"))
	}
	for _, tag := range scriptTag.FindAllString(r.body, -1) {
		if !strings.Contains(tag, `src="/static/`) {
			t.Errorf("%s has an inline script: %s", path, tag)
		}
	}
	if m := eventAttr.FindString(r.body); m != "" {
		t.Errorf("%s has an inline event handler: %s", path, m)
	}
}

// The home page's form goes to the page a name names, whatever form of
// the name was pasted; a bad one comes back with the reason.
func TestOpenName(t *testing.T) {
	e := newTestEnvWith(t, fakeRepos{})
	b := e.browser()
	for typed, want := range map[string]string{
		"alice.test":                             "/u/alice.test",
		" Alice.Test ":                           "/u/alice.test",
		"@alice.test":                            "/u/alice.test",
		aliceDID.String():                        "/u/" + aliceDID.String(),
		"alice.test/app":                         "/r/alice.test/app",
		"alice.test/tools/cli:v1.2":              "/r/alice.test/tools/cli",
		"atcr.example/alice.test/app:latest":     "/r/alice.test/app",
		"https://atcr.example/alice.test/app":    "/r/alice.test/app",
		"alice.test/app@" + imageDigest.String(): "/r/alice.test/app",
		"did:web:host.example%3A8443/app":        "/r/did:web:host.example%3A8443/app",
		aliceDID.String() + "/app:v1":            "/r/" + aliceDID.String() + "/app",
	} {
		r := b.get("/open?name=" + strings.NewReplacer("%", "%25", " ", "+", "@", "%40", ":", "%3A", "/", "%2F").Replace(typed))
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("%q: %d → %q, want %q", typed, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
	for _, typed := range []string{"", "not a name", "alice.test/App", "alice.test/../x", "javascript:alert(1)", strings.Repeat("a", 600)} {
		r := b.get("/open?name=" + strings.NewReplacer(" ", "+", "/", "%2F").Replace(typed))
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="error"`) {
			t.Errorf("%q: %d, want 400 with the form's error\n%s", typed, r.StatusCode, r.body)
		}
	}
}

// Logged out, the home page offers the form; logged in, also a link to
// the user's own page. Without Repositories there are neither, and no
// repository routes.
func TestHomeLinksToRepositories(t *testing.T) {
	e := newTestEnvWith(t, fakeRepos{})
	b := e.browser()
	if home := b.get("/"); !strings.Contains(home.body, `action="/open"`) || strings.Contains(home.body, "your-repositories") {
		t.Fatalf("logged-out home:\n%s", home.body)
	}
	b.logIn("")
	if home := b.get("/"); !strings.Contains(home.body, `<a class="button" id="your-repositories" href="/u/alice.test">`) {
		t.Fatalf("logged-in home has no link to the user's page:\n%s", home.body)
	}
	// The header still shows who is logged in on a repository page.
	if page := b.get("/r/alice.test/app"); !strings.Contains(page.body, `id="who">@alice.test</span>`) {
		t.Errorf("repository page without the session's header:\n%s", page.body)
	}

	plain := newTestEnv(t).browser()
	if home := plain.get("/"); strings.Contains(home.body, `action="/open"`) {
		t.Error("home page offers the form without Repositories")
	}
	for _, p := range []string{"/u/alice.test", "/r/alice.test/app", "/open?name=alice.test"} {
		if r := plain.get(p); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s without Repositories: %d, want 404", p, r.StatusCode)
		}
	}
}

// The behaviour script is served from /static like HTMX.
func TestUIScript(t *testing.T) {
	r := newTestEnv(t).browser().get("/static/ui.js")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(r.body, "data-copy") || !strings.Contains(r.body, "htmx:beforeSwap") {
		t.Fatalf("/static/ui.js: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
}
