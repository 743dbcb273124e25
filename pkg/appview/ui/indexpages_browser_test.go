package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
)

// browserReadme is a README as projects write them; its one image is a
// data: PNG so the browser fetches nothing from the network.
const browserReadme = "# Web server\n\n" +
	"![build](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==)\n\n" +
	"A small **static file server**, built for containers.\n\n## Run\n\n```sh\ndocker run -p 8080:8080 atcr.example/alice.test/web:latest\n```\n\n" +
	"## Options\n\n| Flag | Default | Meaning |\n|---|---|---|\n| `-port` | 8080 | where to listen |\n| `-root` | /srv | what to serve |\n\n" +
	"- [x] gzip\n- [ ] brotli\n\nSee [the docs](https://example.com/docs). <script>alert('x')</script>\n"

// TestIndexPagesInChromium opens the home page, searches from the header,
// opens a repository with a README, and switches to dark mode with the
// keyboard; the choice survives a reload. Screenshots: ui-home.png,
// ui-search.png, ui-repo-readme.png, ui-dark.png in var/e2e/screenshots.
func TestIndexPagesInChromium(t *testing.T) {
	br := startChromium(t)
	ie := newIndexEnv(t, nil)
	ie.seed(t)
	// The browser's pages: README without remote images, and no avatar
	// (the CDN is on the network).
	put(t, ie.store, record(t, aliceDID.String(), pdsread.RepoPageKey("web"),
		&atcr.RepoPage{Repository: "web", Description: browserReadme, CreatedAt: ie.stamp(time.Hour)}))
	if err := ie.store.Delete(t.Context(), aliceDID.String(), "app.bsky.actor.profile", "self"); err != nil {
		t.Fatal(err)
	}

	br.step("open the home page",
		chromedp.Navigate(ie.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#recent-pushes #push-list`)),
		chromedp.WaitVisible(chromedp.CSS(`#most-starred`)),
		chromedp.WaitVisible(chromedp.CSS(`#most-pulled`)),
	)
	if n := evalInt(t, br.ctx, `document.querySelectorAll("#push-list tbody tr").length`); n != 4 {
		t.Errorf("%d recent pushes, want 4", n)
	}
	checkControlsNamed(t, br, "home")
	br.shoot("ui-home.png")

	br.step("search from the header",
		chromedp.SendKeys(chromedp.CSS(`#site-q`), "web\r"),
		chromedp.WaitVisible(chromedp.CSS(`#search-repositories`)),
	)
	if got := text(t, br.ctx, `#search-repositories`); !strings.Contains(got, "alice.test/web") || strings.Contains(got, "bob.test/tool") {
		t.Errorf("search results: %q", got)
	}
	checkControlsNamed(t, br, "search")
	br.shoot("ui-search.png")

	br.step("open the repository",
		chromedp.Click(chromedp.CSS(`#search-repositories a[href="/r/alice.test/web"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#readme h1`)),
		chromedp.WaitVisible(chromedp.CSS(`#tag-list`)),
	)
	if got := text(t, br.ctx, `#readme h1`); got != "Web server" {
		t.Errorf("README heading %q", got)
	}
	if n := evalInt(t, br.ctx, `document.querySelectorAll("#readme table td, #readme pre code, #readme img").length`); n < 8 {
		t.Errorf("README lacks its table, code or image (%d elements)", n)
	}
	if n := evalInt(t, br.ctx, `document.querySelectorAll("#readme script").length + (window.alerted ? 1 : 0)`); n != 0 {
		t.Error("the README's script is in the page")
	}
	if got := text(t, br.ctx, `#pull-command`); got != "docker pull atcr.example/alice.test/web:latest" {
		t.Errorf("pull command %q", got)
	}
	checkControlsNamed(t, br, "repository")
	br.shoot("ui-repo-readme.png")

	// Dark mode with the keyboard: focus the toggle, press Enter.
	theme := func() string { return evalString(t, br, `document.documentElement.getAttribute("data-theme") || ""`) }
	for press := 0; theme() != "dark"; press++ {
		if press == 2 {
			t.Fatal("the toggle never turned dark mode on")
		}
		before := evalString(t, br, `document.getElementById("theme-toggle").getAttribute("aria-pressed")`)
		br.step("press the theme toggle", chromedp.Focus(chromedp.CSS(`#theme-toggle`)), chromedp.KeyEvent("\r"))
		if after := evalString(t, br, `document.getElementById("theme-toggle").getAttribute("aria-pressed")`); after == before {
			t.Fatalf("aria-pressed stayed %s", after)
		}
	}
	br.step("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#readme h1`)))
	if theme() != "dark" {
		t.Error("dark mode did not survive a reload")
	}
	if bg := evalString(t, br, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(21, 22, 26)" {
		t.Errorf("dark background is %s", bg)
	}
	if got := text(t, br.ctx, `#theme-toggle`); got != "Light mode" {
		t.Errorf("the toggle says %q in dark mode", got)
	}
	br.shoot("ui-dark.png")
}

// checkControlsNamed: every button and link has an accessible name, and
// every input, select and textarea a label (or aria-label); it prints the
// ones that have none.
func checkControlsNamed(t *testing.T, br *chromium, page string) {
	t.Helper()
	unnamed := evalString(t, br, `Array.from(document.querySelectorAll("button, a")).filter(function (el) {
		return !(el.getAttribute("aria-label") || el.textContent.trim());
	}).concat(Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea")).filter(function (el) {
		// A README's task-list boxes are read-only state, read with their
		// list item's text, not controls.
		if (el.disabled && el.type === "checkbox" && el.closest("#readme")) return false;
		return !(el.labels && el.labels.length) && !el.getAttribute("aria-label");
	})).map(function (el) { return el.outerHTML.slice(0, 200); }).join("\n")`)
	if unnamed != "" {
		t.Errorf("%s page: controls without a name:\n%s", page, unnamed)
	}
}
