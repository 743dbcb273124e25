package ui

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// editedReadme is what the owner types into the settings form.
const editedReadme = "# Edited in the browser\n\nNow with **bold** text and a list:\n\n- one\n- two\n\n" +
	"<script>window.alerted = true</script> [bad](javascript:window.alerted=true)\n"

// TestRepoSettingsInChromium: the owner opens the settings from the
// repository page, edits the description and the README, saves, and sees
// the README rendered (sanitized) at once. Screenshots: repo-settings.png,
// repo-readme-edited.png in var/e2e/screenshots.
func TestRepoSettingsInChromium(t *testing.T) {
	br := startChromium(t)
	ie, pds := pdsIndexEnv(t)
	// No avatar: the CDN is on the network.
	if err := ie.store.Delete(t.Context(), aliceDID.String(), "app.bsky.actor.profile", "self"); err != nil {
		t.Fatal(err)
	}
	// Log in through the fake OAuth flow, then hand the browser session to
	// Chromium (the cookie is not Secure on a plain-http loopback UI).
	cookie := findCookie(ie.browser().logIn(""), BrowserSessionCookie)
	if cookie == nil {
		t.Fatal("no browser session cookie")
	}
	br.step("open the home page", chromedp.Navigate(ie.srv.URL+"/"))
	br.step("set the session cookie",
		chromedp.Evaluate[chromedp.Void](`document.cookie = "`+BrowserSessionCookie+`=`+cookie.Value+`; path=/"`))
	if got := evalString(t, br, `document.cookie`); !strings.Contains(got, BrowserSessionCookie+"=") {
		t.Fatalf("cookie not set: %q", got)
	}
	br.step("open the repository as its owner",
		chromedp.Navigate(ie.srv.URL+"/r/alice.test/web"),
		chromedp.WaitVisible(chromedp.CSS(`#repo-settings-link`)),
	)
	br.step("open the settings",
		chromedp.Click(chromedp.CSS(`#repo-settings-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#repo-settings`)),
	)
	if got := evalString(t, br, `document.getElementById("repo-readme").value`); !strings.HasPrefix(got, "# Web server") {
		t.Errorf("README not prefilled: %.80q", got)
	}
	// Every input and the textarea have a label.
	if n := evalInt(t, br.ctx, `Array.from(document.querySelectorAll("#repo-settings input:not([type=hidden]), #repo-settings textarea")).filter(function (el) {
		return !(el.labels && el.labels.length);
	}).length`); n != 0 {
		t.Errorf("%d settings controls without a label", n)
	}
	br.step("edit",
		chromedp.SetValue(chromedp.CSS(`#repo-description`), "A small web server"),
		chromedp.SetValue(chromedp.CSS(`#repo-readme`), editedReadme),
	)
	checkControlsNamed(t, br, "repository settings")
	br.shoot("repo-settings.png")
	br.step("save",
		chromedp.Click(chromedp.CSS(`#repo-settings-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#readme-edited-in-the-browser`)),
	)
	if got := evalString(t, br, `location.pathname`); got != "/r/alice.test/web" {
		t.Errorf("after saving the browser is at %s", got)
	}
	if got := text(t, br.ctx, `#readme strong`); got != "bold" {
		t.Errorf("README not rendered: strong %q", got)
	}
	if n := evalInt(t, br.ctx, `document.querySelectorAll("#readme li").length`); n != 2 {
		t.Errorf("%d list items, want 2", n)
	}
	if n := evalInt(t, br.ctx, `document.querySelectorAll("#readme script, #readme a[href^='javascript']").length + (window.alerted ? 1 : 0)`); n != 0 {
		t.Error("the README's script or javascript: link is in the page")
	}
	if got := text(t, br.ctx, `#repo-summary`); got != "A small web server" {
		t.Errorf("description %q", got)
	}
	if rec := storedPage(t, pds); !strings.HasPrefix(rec.Description, "# Edited in the browser") {
		t.Errorf("record in the PDS: %.80q", rec.Description)
	}
	br.shoot("repo-readme-edited.png")

	// An avatar that does not load is hidden (static/ui.js), not shown
	// broken: one that 404s here stands in for the unreachable CDN.
	br.step("add a broken avatar", chromedp.Evaluate[chromedp.Void](`(function () {
		var img = document.createElement("img");
		img.className = "avatar"; img.id = "broken-avatar"; img.src = "/static/no-such-avatar.png";
		document.querySelector(".profile-head").prepend(img);
	})()`))
	br.step("the broken avatar is hidden", chromedp.WaitNotVisible(chromedp.CSS(`#broken-avatar`)))
	if got := evalString(t, br, `document.getElementById("broken-avatar").className`); got != "avatar avatar-missing" {
		t.Errorf("broken avatar has class %q", got)
	}
}
