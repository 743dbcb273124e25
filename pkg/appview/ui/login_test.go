package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
)

// The login binds to the browser, the callback starts a session whose
// cookie has the right attributes, and the page then shows the handle.
func TestLoginSessionCookie(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnvOn(t, engine, nil)
		b := e.browser()
		start := b.get("/auth/oauth/authorize?handle=alice.test")
		if start.StatusCode != http.StatusFound || !strings.HasPrefix(start.Header.Get("Location"), "https://pds.example/") {
			t.Fatalf("authorize: %d → %s", start.StatusCode, start.Header.Get("Location"))
		}
		bind := findCookie(start, loginCookie)
		if bind == nil || !bind.HttpOnly || bind.Path != loginCookiePath || bind.SameSite != http.SameSiteLaxMode || bind.MaxAge != 1800 {
			t.Fatalf("login cookie = %+v", bind)
		}
		loc, _ := url.Parse(start.Header.Get("Location"))
		cb := b.get("/auth/oauth/callback?state=" + url.QueryEscape(loc.Query().Get("state")) + "&code=c&iss=x")
		if cb.StatusCode != http.StatusSeeOther || cb.Header.Get("Location") != "/" {
			t.Fatalf("callback: %d → %s (%s)", cb.StatusCode, cb.Header.Get("Location"), cb.body)
		}
		c := findCookie(cb, BrowserSessionCookie)
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 86400 || len(c.Value) != 43 {
			t.Fatalf("session cookie = %+v", c)
		}
		// httptest serves plain http on 127.0.0.1: the one case without Secure.
		if c.Secure {
			t.Error("Secure set on a plain-http loopback AppView (the browser would drop it)")
		}
		if cleared := findCookie(cb, loginCookie); cleared == nil || cleared.MaxAge >= 0 {
			t.Errorf("login cookie not cleared: %+v", cleared)
		}
		home := b.get("/")
		if !strings.Contains(home.body, `<span id="handle">alice.test</span>`) || !strings.Contains(home.body, "docker login atcr.example -u alice.test") {
			t.Errorf("home page does not show the logged-in user:\n%s", home.body)
		}
	})
}

// Cookies are Secure on an https AppView.
func TestCookieSecureOnHTTPS(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		for base, secure := range map[string]bool{"https://atcr.example": true, "http://127.0.0.1:5000": false, "http://[::1]:5000": false} {
			e := newTestEnvOn(t, engine, nil)
			ui, err := New(Options{BaseURL: base, DB: nil, Login: e.login, Devices: e.devices})
			if err == nil {
				t.Fatal("New accepted a nil DB")
			}
			ui, err = New(Options{BaseURL: base, DB: e.devicesDB(t), Login: e.login, Devices: e.devices})
			if err != nil {
				t.Fatal(err)
			}
			if c := ui.cookie(BrowserSessionCookie, "v", "/", 10); c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("%s: cookie = %+v, want Secure=%v HttpOnly SameSite=Lax", base, c, secure)
			}
		}
	})
}

// A callback in a browser that did not start the login is refused: it
// would log that browser in as whoever started it.
func TestCallbackInOtherBrowser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnvOn(t, engine, nil)
		attacker, victim := e.browser(), e.browser()
		start := attacker.get("/auth/oauth/authorize?handle=alice.test")
		loc, _ := url.Parse(start.Header.Get("Location"))
		cb := victim.get("/auth/oauth/callback?state=" + url.QueryEscape(loc.Query().Get("state")) + "&code=c&iss=x")
		if cb.StatusCode != http.StatusBadRequest || findCookie(cb, BrowserSessionCookie) != nil {
			t.Fatalf("callback in another browser: %d, cookies %v", cb.StatusCode, cb.Cookies())
		}
		if !strings.Contains(cb.body, "another browser") {
			t.Errorf("no explanation: %s", cb.body)
		}
	})
}

// return_to survives the login only as a same-origin path.
func TestReturnTo(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnvOn(t, engine, nil)
		b := e.browser()
		if cb := b.logIn("/device?user_code=BCDF-GHJK"); cb.Header.Get("Location") != "/device?user_code=BCDF-GHJK" {
			t.Errorf("return_to not honoured: %s", cb.Header.Get("Location"))
		}
		if cb := e.browser().logIn("https://evil.example/"); cb.Header.Get("Location") != "/" {
			t.Errorf("absolute return_to followed: %s", cb.Header.Get("Location"))
		}
		for raw, want := range map[string]string{
			"/settings":             "/settings",
			"/device?user_code=X-Y": "/device?user_code=X-Y",
			"//evil.example/x":      "",
			"/\\evil.example":       "",
			"https://evil.example":  "",
			"javascript:alert(1)":   "",
			"settings":              "",
			"/x\r\nSet-Cookie: a=b": "",
			"":                      "",
		} {
			if got := SafeReturnTo(raw); got != want {
				t.Errorf("SafeReturnTo(%q) = %q, want %q", raw, got, want)
			}
		}
	})
}

func TestLoginErrors(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnvOn(t, engine, nil)
		b := e.browser()
		if r := b.get("/auth/oauth/authorize?handle=nobody.test"); r.StatusCode != 400 || !strings.Contains(r.body, "No account was found") {
			t.Errorf("unknown handle: %d %s", r.StatusCode, r.body)
		}
		if r := b.get("/auth/oauth/authorize?handle="); r.StatusCode != 400 {
			t.Errorf("empty handle: %d", r.StatusCode)
		}
		if r := b.get("/auth/oauth/callback?state=forged&code=c"); r.StatusCode != 400 || findCookie(r, BrowserSessionCookie) != nil {
			t.Errorf("unknown state: %d", r.StatusCode)
		}
		// Templates escape what users type.
		if r := b.get("/auth/oauth/authorize?handle=" + url.QueryEscape(`"><script>alert(1)</script>`)); strings.Contains(r.body, "<script>alert") {
			t.Errorf("handle echoed unescaped:\n%s", r.body)
		}
	})
}

// Logout is a CSRF-protected POST that ends the session.
func TestLogout(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnvOn(t, engine, nil)
		b := e.browser()
		b.logIn("")
		token := b.csrfToken()
		if r := b.do(http.MethodPost, "/auth/logout", url.Values{}, nil); r.StatusCode != http.StatusForbidden {
			t.Errorf("logout without token: %d, want 403", r.StatusCode)
		}
		r := b.do(http.MethodPost, "/auth/logout", url.Values{"csrf_token": {token}}, nil)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d %s", r.StatusCode, r.body)
		}
		if c := findCookie(r, BrowserSessionCookie); c == nil || c.MaxAge >= 0 {
			t.Errorf("session cookie not cleared: %+v", c)
		}
		if r := b.get("/settings"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("/settings after logout: %d, want a redirect to login", r.StatusCode)
		}
	})
}
