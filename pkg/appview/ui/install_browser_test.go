package ui

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestInstallPageInChromium opens /install in headless Chromium, reaches
// the first copy button with the keyboard alone, copies the build command
// with Enter, and saves var/e2e/screenshots/ui-install.png. The clipboard
// is replaced by a recorder so the test does not depend on the browser's
// clipboard permission.
func TestInstallPageInChromium(t *testing.T) {
	br := startChromium(t)
	e := newTestEnv(t)
	br.step("open /install",
		chromedp.Navigate(e.srv.URL+"/install"),
		chromedp.WaitVisible(chromedp.CSS(`#cmd-build`)),
		chromedp.WaitVisible(chromedp.CSS(`#copy-cmd-build`)),
	)
	if got := text(t, br.ctx, `#cmd-configure`); got != "docker-credential-atcr configure-docker atcr.example" {
		t.Errorf("configure command %q", got)
	}
	// Every control has an accessible name.
	if n := evalInt(t, br.ctx, `Array.from(document.querySelectorAll("button, a")).filter(function (el) {
		return !(el.getAttribute("aria-label") || el.textContent.trim());
	}).length`); n != 0 {
		t.Errorf("%d controls without a name", n)
	}
	checkControlsNamed(t, br, "install")
	br.shoot("ui-install.png")

	// ui.js (loaded with defer) is in place once the page has loaded.
	br.step("record the clipboard", chromedp.Evaluate[chromedp.Void](`(function () {
		window.copied = null;
		Object.defineProperty(navigator.clipboard, "writeText", {value: function (s) { window.copied = s; return Promise.resolve(); }});
	})()`))
	tabs := 0
	for ; tabs < 40; tabs++ {
		br.step("tab", chromedp.KeyEvent("\t"))
		if id := evalString(t, br, `document.activeElement ? document.activeElement.id : ""`); id == "copy-cmd-build" {
			break
		}
	}
	if tabs == 40 {
		t.Fatal("Tab never reached the first copy button")
	}
	br.step("press Enter on the copy button",
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#copy-cmd-build`)),
	)
	want := newInstallView("atcr.example", "").Build.Command
	if got := evalString(t, br, `window.copied || ""`); got != want {
		t.Errorf("Enter copied %q, want %q", got, want)
	}
	if got := text(t, br.ctx, `#copy-cmd-build`); got != "Copied" {
		t.Errorf("the button says %q after copying", got)
	}
}

func evalString(t *testing.T, br *chromium, expr string) string {
	t.Helper()
	s, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}
