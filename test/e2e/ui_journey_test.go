//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"atcr.io/pkg/atproto/atcr"
)

// journey is one person's walk through the web UI in Chromium: every page
// it reaches is saved as var/e2e/screenshots/journey-NN-<page>.png.
type journey struct {
	*browser
	shots int
}

// shot saves the page as journey-NN-<page>.png, numbered in visiting order.
func (j *journey) shot(page string) {
	j.t.Helper()
	j.shots++
	j.shoot(fmt.Sprintf("journey-%02d-%s.png", j.shots, page))
}

// count reads the number at the start of sel's text ("3 pulls", "1 star").
func (j *journey) count(sel string) int {
	j.t.Helper()
	var n int
	if _, err := fmt.Sscanf(j.text(sel), "%d", &n); err != nil {
		j.t.Fatalf("%s shows %q, not a count: %v", sel, j.text(sel), err)
	}
	return n
}

// reloadUntil reloads the page until ok holds, as a reader pressing F5
// does while the AppView writes its batched counters.
func (j *journey) reloadUntil(what string, ok func() bool) {
	j.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !ok() {
		if time.Now().After(deadline) {
			j.t.Fatalf("%s: not seen within %s (at %s)", what, stepTimeout, j.location())
		}
		time.Sleep(time.Second)
		j.step("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main")))
	}
}

// theme is the page's chosen theme and what the browser computed of it.
func (j *journey) theme() (chosen, scheme, background string) {
	return j.eval(`document.documentElement.getAttribute("data-theme") || ""`),
		j.eval(`getComputedStyle(document.documentElement).colorScheme`),
		j.eval(`getComputedStyle(document.body).backgroundColor`)
}

// TestUIJourney is the web UI as a person uses it, in Chromium against the
// whole stack: alice logs in through OAuth on the reference PDS, pushes an
// image with crane, finds it through the search page, stars it (the count
// goes 0 → 1, unstar and star again), pulls it with crane and sees the
// pull count move, visits her user page and settings, edits the README on
// the repository settings page and sees it rendered, opens /install, and
// switches to dark mode with the toggle (the computed theme changes).
// Every page is saved as var/e2e/screenshots/journey-NN-<page>.png.
func TestUIJourney(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	appview := env(t, "ATCR_APPVIEW_URL")
	alice := regAlice(t)
	j := &journey{browser: newBrowser(t)}

	// Log in through the PDS's own pages.
	j.onPage = j.shot
	j.logIn(alice.Handle, env(t, "ATCR_ACCOUNT_PASSWORD"))
	j.onPage = nil
	j.shot("home")

	// Push with crane, as a terminal next to the browser would.
	tools := newRegTools(t)
	tools.run(t, "crane", "auth", "login", registry, "-u", alice.Handle, "-p", alice.Password)
	name := regRepo(alice, "journey")
	path := strings.TrimPrefix(name, alice.Handle+"/")
	img := regImage(t, "amd64", 4<<10, 8<<10)
	tools.run(t, "crane", "push", regLayout(t, filepath.Join(tools.dir, "image"), img), registry+"/"+name+":v1")

	// The push is in the home page's recent pushes (the AppView indexes
	// its own writes at once).
	j.step("home page", chromedp.Navigate(appview+"/"), chromedp.WaitVisible(chromedp.CSS("#recent-pushes")))
	j.reloadUntil("the push on the home page", func() bool {
		return strings.Contains(j.eval(`document.querySelector("#recent-pushes").innerText`), "/"+path)
	})
	j.shot("home-pushed")

	// Find it through search, from the header's search box.
	j.step("search from the header",
		chromedp.SendKeys(chromedp.CSS("#site-q"), path+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#search-repositories")),
	)
	result := fmt.Sprintf(`#search-repositories a[href$="/%s"]`, path)
	href := j.eval(fmt.Sprintf(`(() => { const a = document.querySelector(%q); return a ? a.getAttribute("href") : "" })()`, result))
	// The pages name an account by its handle once the index knows it
	// (a Jetstream identity event or a backfill), by its DID until then.
	owner := strings.TrimSuffix(strings.TrimPrefix(href, "/r/"), "/"+path)
	switch owner {
	case alice.Handle:
	case alice.DID:
		t.Logf("the index does not know %s's handle yet: the pages name her %s", alice.Handle, alice.DID)
	default:
		t.Fatalf("the search for %q does not list %s (link %q):\n%s", path, name, href, j.text("#search-repositories"))
	}
	if got := j.eval(`new URL(location.href).pathname`); got != "/search" {
		t.Errorf("the header's search went to %s, want /search", got)
	}
	j.shot("search")

	j.step("open the result", chromedp.Click(chromedp.CSS(result)), chromedp.WaitVisible(chromedp.CSS("#repo-name")))
	if got := j.text("#repo-name"); got != path {
		t.Fatalf("repository page of %q, want %q", got, path)
	}
	j.waitText("#tag-list", "v1")
	if got := j.text(`#tag-list li.tag[data-tag="v1"] .kind`); got != "image" {
		t.Errorf("the tag v1 of a plain image shows the kind %q, want image", got)
	}
	if got := j.text("#pull-command"); got != "docker pull "+registry+"/"+owner+"/"+path+":v1" {
		t.Errorf("pull command %q", got)
	}
	j.shot("repo")

	// Star: 0 → 1, unstar: → 0, star again: → 1 (HTMX swaps the control).
	if n := j.count("#star-count"); n != 0 {
		t.Fatalf("a new repository shows %d stars", n)
	}
	for _, want := range []string{"1 star", "0 stars", "1 star"} {
		pressed := j.eval(`document.getElementById("star-button").getAttribute("aria-pressed")`)
		j.step("press the star button", chromedp.Click(chromedp.CSS("#star-button")))
		j.waitText("#star-count", want)
		if after := j.eval(`document.getElementById("star-button").getAttribute("aria-pressed")`); after == pressed {
			t.Errorf("the star button's aria-pressed stayed %s", after)
		}
	}
	starred := false
	for _, r := range regRecords(t, alice.DID, atcr.SailorStarNSID) {
		if s, _ := r.Value["subject"].(string); strings.HasSuffix(s, "/"+path) {
			starred = true
		}
	}
	if !starred {
		t.Errorf("no %s record of %s in alice's PDS after starring", atcr.SailorStarNSID, path)
	}
	// The page a reload shows comes from the index, which also replays
	// Jetstream's echo of the three writes (create, delete, create of one
	// record key) after the AppView indexed them itself: while the echo of
	// the delete is applied and that of the second create is not yet, the
	// count reads 0 again. Once the echo is through it must be 1.
	j.step("reload the starred page", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#star-count")))
	loads := 0
	j.reloadUntil("1 star after a reload", func() bool {
		loads++
		return j.text("#star-count") == "1 star"
	})
	if loads > 1 {
		t.Logf("the star count read other than 1 star on %d reloads before it settled (Jetstream's echo of the unstar)", loads-1)
	}
	j.shot("repo-starred")

	// Pull with crane: the pull count moves once the AppView writes its
	// batched counters.
	pulls := j.count("#pull-count")
	tools.run(t, "crane", "pull", "--format=oci", registry+"/"+name+":v1", filepath.Join(tools.dir, "pulled"))
	j.reloadUntil("the pull in the pull count", func() bool { return j.count("#pull-count") > pulls })
	j.shot("repo-pulled")

	// The owner's user page: the repository and the star.
	j.step("open the owner", chromedp.Click(chromedp.CSS("#owner")), chromedp.WaitVisible(chromedp.CSS("#user-repositories")))
	for _, sec := range []string{"#user-repositories", "#user-stars"} {
		if j.eval(fmt.Sprintf(`document.querySelector(%q).querySelector('a[href=%q]') ? "yes" : ""`, sec, href)) != "yes" {
			t.Errorf("the user page's %s does not link %s:\n%s", sec, href, j.text(sec))
		}
	}
	j.shot("user")

	j.step("settings", chromedp.Click(chromedp.CSS(`header a[href="/settings"]`)), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if got := j.text("main h1"); got != "Settings" {
		t.Errorf("settings page heading %q", got)
	}
	j.shot("settings")

	// Edit the README on the repository settings page (owner only).
	readme := "# Journey " + path + "\n\nEdited on the **repository settings** page.\n\n- pushed with crane\n- starred in Chromium\n\n" +
		"<script>window.journeyScript = 1</script>\n"
	description := "The journey test's image"
	j.step("repository page", chromedp.Navigate(appview+href), chromedp.WaitVisible(chromedp.CSS("#repo-settings-link")))
	j.step("open the repository settings",
		chromedp.Click(chromedp.CSS("#repo-settings-link")),
		chromedp.WaitVisible(chromedp.CSS("form#repo-settings")),
	)
	if got := j.eval(`new URL(location.href).pathname`); got != href+"/-/settings" {
		t.Errorf("the settings link went to %s", got)
	}
	for _, sel := range []string{"#repo-description", "#repo-readme", "#repo-avatar", "#repo-settings-save"} {
		if j.eval(fmt.Sprintf(`document.querySelector("form#repo-settings %s") ? "yes" : ""`, sel)) != "yes" {
			t.Errorf("the repository settings form has no %s", sel)
		}
	}
	j.shot("repo-settings")
	j.step("save the README",
		chromedp.SetValue(chromedp.CSS("#repo-description"), description),
		chromedp.SetValue(chromedp.CSS("#repo-readme"), readme),
		chromedp.Click(chromedp.CSS("#repo-settings-save")),
		chromedp.WaitVisible(chromedp.CSS("#readme h1")),
	)
	if got := j.eval(`new URL(location.href).pathname`); got != href {
		t.Errorf("saving went to %s, want the repository page %s", got, href)
	}
	if got := j.text("#repo-summary"); got != description {
		t.Errorf("the page's description %q, want %q", got, description)
	}
	if got := j.text("#readme h1"); got != "Journey "+path {
		t.Errorf("rendered README heading %q", got)
	}
	if got := j.text("#readme strong"); got != "repository settings" {
		t.Errorf("rendered README bold text %q", got)
	}
	if n := j.eval(`String(document.querySelectorAll("#readme li").length)`); n != "2" {
		t.Errorf("rendered README has %s list items, want 2", n)
	}
	if got := j.eval(`String(document.querySelectorAll("#readme script").length + (window.journeyScript ? 1 : 0))`); got != "0" {
		t.Error("the README's script is in the page")
	}
	j.shot("repo-readme")

	j.step("install page", chromedp.Click(chromedp.CSS("#nav-install")), chromedp.WaitVisible(chromedp.CSS("#install-title")))
	j.shot("install")

	// Dark mode with the toggle, on the repository page.
	j.step("repository page", chromedp.Navigate(appview+href), chromedp.WaitVisible(chromedp.CSS("#readme h1")))
	_, scheme0, bg0 := j.theme()
	for press := 0; ; press++ {
		if chosen, _, _ := j.theme(); chosen == "dark" {
			break
		}
		if press == 2 {
			t.Fatal("the toggle never turned dark mode on")
		}
		j.step("press the theme toggle", chromedp.Click(chromedp.CSS("#theme-toggle")))
	}
	_, scheme, bg := j.theme()
	if scheme != "dark" || bg == bg0 {
		t.Errorf("dark mode: color-scheme %q (was %q), background %s (was %s)", scheme, scheme0, bg, bg0)
	}
	if got := j.text("#theme-toggle"); got != "Light mode" {
		t.Errorf("the toggle says %q in dark mode", got)
	}
	j.step("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#readme h1")))
	if chosen, _, _ := j.theme(); chosen != "dark" {
		t.Error("dark mode did not survive a reload")
	}
	j.shot("dark")
}
