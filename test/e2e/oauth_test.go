//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The real OAuth flow in a browser: AppView login form → the reference
// PDS's sign-in and consent pages (PAR, PKCE, DPoP, private_key_jwt) →
// callback → logged in. The session cookie is invisible to scripts, the
// settings page works, and logging out ends the browser session.
func TestOAuthBrowserLogin(t *testing.T) {
	alice := accounts(t)[0]
	b := newBrowser(t)
	b.logIn(alice.Handle, alice.Password)

	if got := b.text("#who"); got != "@"+alice.Handle {
		t.Errorf("header shows %q, want @%s", got, alice.Handle)
	}
	if cookies := b.eval(`document.cookie`); strings.Contains(cookies, "atcr_session") {
		t.Errorf("the session cookie is readable by scripts (not HttpOnly): %q", cookies)
	}
	page := b.eval(`document.body.innerText`)
	for _, want := range []string{"docker-credential-atcr login " + env(t, "ATCR_REGISTRY"), alice.DID} {
		if !strings.Contains(page, want) {
			t.Errorf("home page lacks %q:\n%s", want, page)
		}
	}

	b.step("settings", chromedp.Navigate(env(t, "ATCR_APPVIEW_URL")+"/settings"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := b.text("h1"); got != "Settings" {
		t.Fatalf("/settings shows %q", got)
	}
	b.step("log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)))
	b.step("settings after logout", chromedp.Navigate(env(t, "ATCR_APPVIEW_URL")+"/settings"), chromedp.WaitVisible(chromedp.CSS("#handle")))
	if loc := b.location(); !strings.Contains(loc, "/login?return_to=%2Fsettings") {
		t.Errorf("/settings after logout went to %s, want the login page", loc)
	}
}
