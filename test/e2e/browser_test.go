//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium (test/stack/install.sh installs it).
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds one browser step (a page load, a sign-in).
const stepTimeout = 45 * time.Second

// browser is a headless Chromium with its own profile, which trusts the
// stack's Caddy CA through its own NSS database (the real trust path, not
// --ignore-certificate-errors).
type browser struct {
	t   *testing.T
	ctx context.Context
	// onPage, when set, is called as logIn reaches each page of the sign-in
	// (login, pds-sign-in, pds-consent), e.g. to take its screenshot.
	onPage func(page string)
}

// reached calls onPage when it is set.
func (b *browser) reached(page string) {
	if b.onPage != nil {
		b.onPage(page)
	}
}

// newBrowser starts the browser; extra adds Chromium options (the cluster
// tests pin atcr.internal to one AppView with --host-resolver-rules).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: run test/stack/install.sh (make stack-deps)", chromiumPath)
	}
	home := t.TempDir()
	trustCaddyRoot(t, home)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(filepath.Join(home, "profile")),
		chromedp.Env("HOME="+home), // Chromium reads $HOME/.pki/nssdb
		chromedp.NoSandbox,         // root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first action starts the browser; it must get the long-lived
	// context, since the browser dies with the context that started it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// trustCaddyRoot makes an NSS database under home that trusts the stack's
// internal CA, as `certutil` would for a user.
func trustCaddyRoot(t *testing.T, home string) {
	t.Helper()
	root := filepath.Join(env(t, "ATCR_STACK_DIR"), "caddy-data", "pki", "authorities", "local", "root.crt")
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + db, "--empty-password"},
		{"-A", "-d", "sql:" + db, "-t", "C,,", "-n", "atcr-e2e-caddy", "-i", root},
	} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s (install libnss3-tools: test/stack/install.sh)", args, err, out)
		}
	}
}

// step runs actions with the step timeout.
func (b *browser) step(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown: " + err.Error()
	}
	return loc
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v (at %s)", sel, err, b.location())
	}
	return strings.TrimSpace(s)
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// logIn signs in to the AppView through the real OAuth flow: the login
// form, the reference PDS's sign-in and consent pages, and the callback.
// It returns when the AppView's home page shows the handle.
func (b *browser) logIn(handle, password string) {
	b.t.Helper()
	appview := env(b.t, "ATCR_APPVIEW_URL")
	b.step("open the login page",
		chromedp.Navigate(appview+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#handle")),
	)
	b.reached("login")
	b.step("ask the PDS",
		chromedp.SendKeys(chromedp.CSS("#handle"), handle),
		chromedp.Click(chromedp.CSS("#login")),
	)
	b.signInAtPDS(password, func(u *url.URL) bool {
		return u.Scheme+"://"+u.Host == appview && !strings.HasPrefix(u.Path, "/auth/oauth/")
	})
	b.step("home page", chromedp.WaitVisible(chromedp.CSS("#handle")))
	if got := b.text("#handle"); got != handle {
		b.t.Fatalf("home page shows %q, want %q", got, handle)
	}
}

// signInAtPDS completes the reference PDS's pages once the browser is on
// its authorize URL: the password (the handle comes pre-filled from
// login_hint), then the consent page when it shows one, until back(url)
// says the browser has left the PDS.
func (b *browser) signInAtPDS(password string, back func(*url.URL) bool) {
	b.t.Helper()
	// React's handler must see the click: chromedp.Submit would bypass it.
	b.step("the PDS's sign-in page", chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)))
	b.reached("pds-sign-in")
	b.step("sign in at the PDS",
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	)
	deadline := time.Now().Add(stepTimeout)
	consent := false
	for {
		loc := b.location()
		if u, err := url.Parse(loc); err == nil && back(u) {
			return
		}
		// The consent page: its submit button is "Authorize".
		const findConsent = `[...document.querySelectorAll('button')]
			.find(x => /^(authorize|accept|allow)$/i.test(x.innerText.trim()))`
		if !consent && b.onPage != nil && b.eval(`(() => `+findConsent+` ? "found" : "")()`) == "found" {
			consent = true
			b.reached("pds-consent")
		}
		b.eval(`(() => { const btn = ` + findConsent + `;
			if (btn) { btn.click(); return "clicked" } return "" })()`)
		if time.Now().After(deadline) {
			b.t.Fatalf("the PDS did not send the browser back; stuck at %s:\n%s", loc,
				b.eval(`document.body ? document.body.innerText.slice(0, 2000) : ""`))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitText polls until the element's text contains want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		got := b.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : "" })()`, sel))
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s shows %q, want %q (at %s)", sel, got, want, b.location())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
