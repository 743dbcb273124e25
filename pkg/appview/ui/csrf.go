package ui

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxFormBytes bounds a UI form body.
const maxFormBytes = 16 << 10

// csrfProtect guards every state-changing request in two independent ways:
//
//  1. Cross-site requests are refused by what the browser says about them:
//     Sec-Fetch-Site must be same-origin (when sent), and Origin must be
//     this AppView's (when sent; "null" is refused).
//  2. A synchronizer token: the form field csrf_token (or the header
//     X-CSRF-Token that HTMX sends) must equal the browser session's token.
//     A request without a browser session has no token to match and is
//     refused.
//
// Safe methods pass untouched; the UI has no state-changing GET.
func (ui *UI) csrfProtect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if reason := ui.crossSite(r); reason != "" {
			ui.log.InfoContext(r.Context(), "ui: refused cross-site request", "path", r.URL.Path, "reason", reason)
			ui.fail(w, r, http.StatusForbidden, "Request refused", "This request did not come from an ATCR page.")
			return
		}
		sess := browserSessionFrom(r)
		if !ui.parseForm(w, r, sess) {
			return
		}
		token := r.PostForm.Get("csrf_token")
		if token == "" {
			token = r.Header.Get("X-CSRF-Token")
		}
		if sess == nil || token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) != 1 {
			ui.log.InfoContext(r.Context(), "ui: refused request with a missing or wrong CSRF token", "path", r.URL.Path, "browser_session", sess != nil)
			ui.fail(w, r, http.StatusForbidden, "Request refused", "Your session has changed or expired. Reload the page and try again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossSite returns why r looks cross-site, or "".
func (ui *UI) crossSite(r *http.Request) string {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return "Sec-Fetch-Site: " + site
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if !strings.EqualFold(origin, ui.origin) {
			return "Origin: " + origin
		}
		return ""
	}
	// No Origin (older browsers on same-origin POSTs): a Referer, if any,
	// must be ours too.
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		if err != nil || !strings.EqualFold(u.Scheme+"://"+u.Host, ui.origin) {
			return "Referer: " + ref
		}
	}
	return ""
}

// parseForm reads a POST body into r.PostForm: an urlencoded form of at
// most maxFormBytes, or a multipart one (the repository settings' avatar
// upload, up to maxSettingsBodyBytes there, maxFormBytes elsewhere). A
// multipart body is read only for a browser session: nobody else can pass
// the token check, so an anonymous client cannot make the server buffer
// megabytes. False means the answer was written.
func (ui *UI) parseForm(w http.ResponseWriter, r *http.Request, sess *BrowserSession) bool {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			ui.fail(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
			return false
		}
		return true
	}
	if sess == nil {
		ui.log.InfoContext(r.Context(), "ui: refused multipart request without a browser session", "path", r.URL.Path)
		ui.fail(w, r, http.StatusForbidden, "Request refused", "Your session has changed or expired. Reload the page and try again.")
		return false
	}
	limit, memory := int64(maxFormBytes), int64(maxFormBytes)
	if isRepoSettingsPath(r.URL.EscapedPath()) {
		limit, memory = maxSettingsBodyBytes, maxSettingsMemory
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseMultipartForm(memory); err != nil {
		status, message := http.StatusBadRequest, "The form could not be read."
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			status, message = http.StatusRequestEntityTooLarge, "The form is too large."
		}
		ui.fail(w, r, status, "Bad request", message)
		return false
	}
	return true
}
