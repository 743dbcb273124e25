package ui

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"atcr.io/pkg/atproto/atcr"
)

// TestSettingsInChromium: logged in, the settings page shows the default
// hold selector (labelled) and the export link; choosing a hold and
// pressing Save swaps in the saved section and writes the profile.
// Screenshot: ui-settings.png in var/e2e/screenshots.
func TestSettingsInChromium(t *testing.T) {
	br := startChromium(t)
	ie, pds, _ := newHoldEnv(t)
	b := ie.browser()
	cookie := findCookie(b.logIn(""), "atcr_session")
	if cookie == nil {
		t.Fatal("no browser session cookie")
	}
	httpOnly := true
	if _, err := chromedp.Call(br.ctx, network.SetCookie, network.SetCookieParams{
		Name: cookie.Name, Value: cookie.Value, URL: ie.srv.URL, HTTPOnly: &httpOnly}); err != nil {
		t.Fatalf("set the session cookie: %v", err)
	}
	br.step("open the settings",
		chromedp.Navigate(ie.srv.URL+"/settings"),
		chromedp.WaitVisible(chromedp.CSS(`#default-hold`)),
	)
	if n := evalInt(t, br.ctx, `document.getElementById("default-hold").labels.length`); n != 1 {
		t.Errorf("the hold selector has %d labels", n)
	}
	if got := evalString(t, br, `document.getElementById("default-hold").value`); got != holdDID {
		t.Errorf("selected hold %q, want %s", got, holdDID)
	}
	if n := evalInt(t, br.ctx, `document.querySelectorAll("a#data-export[href='/settings/export']").length`); n != 1 {
		t.Error("no export link")
	}
	br.step("choose a hold and save",
		chromedp.SetValue(chromedp.CSS(`#default-hold`), hold3DID),
		chromedp.Click(chromedp.CSS(`#default-hold-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#default-hold-saved`)),
	)
	if got := text(t, br.ctx, `#default-hold-saved`); !strings.Contains(got, hold3DID) {
		t.Errorf("saved message %q", got)
	}
	if rec, _ := pds.Record(aliceDID, atcr.SailorProfileNSID, "self"); rec["defaultHold"] != hold3DID {
		t.Errorf("profile after Save: %v", rec)
	}
	checkControlsNamed(t, br, "settings")
	br.shoot("ui-settings.png")
}
