package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"atcr.io/pkg/appview/appoauth"
)

// maxReturnTo bounds the stored return path.
const maxReturnTo = 512

// SafeReturnTo accepts only a same-origin, relative path ("/device?…"):
// no scheme, no host, no "//" or "/\" prefix that a browser would read as
// another host, no control characters. Anything else becomes "".
func SafeReturnTo(raw string) string {
	if raw == "" || len(raw) > maxReturnTo || !strings.HasPrefix(raw, "/") ||
		strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, "/\\") || strings.ContainsAny(raw, "\\") {
		return ""
	}
	for _, c := range raw {
		if c < 0x20 || c == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return raw
}

// loginPage shows the handle form.
func (ui *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	ui.render(w, r, http.StatusOK, "login", pageData{Title: "Log in", ReturnTo: SafeReturnTo(r.URL.Query().Get("return_to"))})
}

// authorize starts an OAuth login (GET /auth/oauth/authorize?handle=…):
// it binds the flow to this browser with a fresh atcr_login cookie and
// redirects to the user's PDS.
func (ui *UI) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	handle := strings.TrimSpace(q.Get("handle"))
	returnTo := SafeReturnTo(q.Get("return_to"))
	data := pageData{Title: "Log in", Handle: handle, ReturnTo: returnTo}
	if handle == "" || len(handle) > 253 {
		data.Error = "Enter your handle, for example alice.bsky.social."
		ui.render(w, r, http.StatusBadRequest, "login", data)
		return
	}
	binding, err := randomToken()
	if err != nil {
		ui.log.ErrorContext(r.Context(), "ui: login binding", "err", err)
		ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "Try again.")
		return
	}
	redirect, err := ui.login.StartLogin(r.Context(), handle, returnTo, binding)
	switch {
	case errors.Is(err, appoauth.ErrUnknownAccount):
		data.Error = "No account was found for this handle."
		ui.render(w, r, http.StatusBadRequest, "login", data)
		return
	case err != nil:
		ui.log.WarnContext(r.Context(), "ui: start OAuth login", "handle", handle, "err", err)
		data.Error = "Your PDS could not be reached for login. If it does not support OAuth, use an app password with docker login."
		ui.render(w, r, http.StatusBadGateway, "login", data)
		return
	}
	http.SetCookie(w, ui.cookie(loginCookie, binding, loginCookiePath, int(loginCookieTTL.Seconds())))
	http.Redirect(w, r, redirect, http.StatusFound)
}

// callback completes the login (GET /auth/oauth/callback), starts the
// browser session and returns to where the login began.
func (ui *UI) callback(w http.ResponseWriter, r *http.Request) {
	binding := ""
	if c, err := r.Cookie(loginCookie); err == nil {
		binding = c.Value
	}
	login, err := ui.login.FinishLogin(r.Context(), r.URL.Query(), binding)
	if err != nil {
		ui.log.InfoContext(r.Context(), "ui: OAuth callback refused", "err", err)
		switch {
		case errors.Is(err, appoauth.ErrOtherBrowser):
			ui.fail(w, r, http.StatusBadRequest, "Login not completed", "This login was started in another browser. Start it again here.")
		case errors.Is(err, appoauth.ErrDenied):
			ui.fail(w, r, http.StatusForbidden, "Login cancelled", "Your PDS reports that access was not granted.")
		case errors.Is(err, appoauth.ErrUnknownAuthRequest):
			ui.fail(w, r, http.StatusBadRequest, "Login expired", "This login link is unknown, expired or already used. Log in again.")
		default:
			ui.fail(w, r, http.StatusBadGateway, "Login failed", "The login could not be completed with your PDS. Try again.")
		}
		return
	}
	if old := browserSessionFrom(r); old != nil {
		_ = ui.browserSessions.delete(r.Context(), old) // a new login replaces the browser's session
	}
	cookie, _, err := ui.browserSessions.create(r.Context(), login.DID, login.Handle.String())
	if err != nil {
		ui.log.ErrorContext(r.Context(), "ui: create browser session", "err", err)
		ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "You are logged in at your PDS, but the session could not be saved. Try again.")
		return
	}
	http.SetCookie(w, ui.cookie(loginCookie, "", loginCookiePath, -1))
	http.SetCookie(w, ui.cookie(BrowserSessionCookie, cookie, "/", int(ui.browserSessions.ttl.Seconds())))
	dest := SafeReturnTo(login.ReturnTo)
	if dest == "" {
		dest = "/"
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// logout ends the browser session (POST /auth/logout). The OAuth grant is
// kept: the user's credential helpers push through it. Revoking ATCR's
// access is done at the PDS.
func (ui *UI) logout(w http.ResponseWriter, r *http.Request) {
	if sess := browserSessionFrom(r); sess != nil {
		if err := ui.browserSessions.delete(r.Context(), sess); err != nil {
			ui.log.ErrorContext(r.Context(), "ui: logout", "err", err)
		}
	}
	http.SetCookie(w, ui.cookie(BrowserSessionCookie, "", "/", -1))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// requireBrowserSession returns the browser session, or redirects to the
// login page (coming back to this URL) and returns nil.
func (ui *UI) requireBrowserSession(w http.ResponseWriter, r *http.Request) *BrowserSession {
	if sess := browserSessionFrom(r); sess != nil {
		return sess
	}
	target := "/login"
	if back := SafeReturnTo(r.URL.RequestURI()); back != "" {
		target += "?" + url.Values{"return_to": {back}}.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// home is the landing page.
func (ui *UI) home(w http.ResponseWriter, r *http.Request) {
	data := pageData{Title: "Home"}
	if ui.index != nil {
		data.Home = ui.homeFeed(r.Context(), pageNumber(r))
	}
	ui.render(w, r, http.StatusOK, "home", data)
}
