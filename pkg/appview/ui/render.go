package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"atcr.io/pkg/appview/browse"
)

//go:embed templates/*.html
var templateFS embed.FS

// pageFiles are the templates rendered inside the layout, each with the
// files of the fragments it uses.
var pageFiles = map[string][]string{
	"login": nil, "device": nil, "message": nil, "settings": nil, "user": nil, "install": nil,
	"search": {"lists.html"}, "user-index": {"lists.html"}, "repo-index": {"vuln-badge.html", "partials.html"}, "repo-settings": nil, "home": {"lists.html"},
	"repo": {"partials.html", "vuln-badge.html"}, "tags": {"partials.html", "vuln-badge.html"},
	"manifest": {"partials.html", "vuln-badge.html"}, "vuln": {"vuln-badge.html", "vuln-details.html"},
}

// pages holds one parsed template set per page: the layout plus the page's
// "content" block.
type pages struct {
	sets map[string]*template.Template
}

func parsePages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}}
	for name, extra := range pageFiles {
		files := []string{"templates/layout.html", "templates/" + name + ".html"}
		for _, f := range extra {
			files = append(files, "templates/"+f)
		}
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("ui: parse %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// pageData is what every page gets; Page carries the page's own fields.
type pageData struct {
	Title          string
	BrowserSession *BrowserSession
	Registry       string
	// Page-specific fields, flattened for the templates.
	Error    string
	Handle   string
	ReturnTo string
	Typed    string
	Request  *deviceRequestView
	Devices  []deviceView
	Heading  string
	Message  string
	Link     string
	LinkText string
	// Repository pages.
	Browse  bool // the repository pages exist (Options.Repositories)
	User    *browse.User
	Repo    *browse.Repository
	Partial *partialData
	// Vulnerability badges and the CVE modal (Options.Scans).
	Scans   bool
	Badge   *badgeData
	Details *detailsData
	// The /install page.
	Install *installView
	// Pages from the index (Options.Index): Indexed turns on the search
	// box in the header.
	Indexed   bool
	Home      *homeView
	Search    *searchView
	RepoIndex *repoIndexView
	// The owner's repository settings form.
	RepoSettings *repoSettingsView
	UserIndex    *userIndexView
}

// render writes page name with status. Templates escape every value; the
// page is rendered to a buffer first so a template error never sends half
// a page.
func (ui *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, data pageData) {
	data.BrowserSession = browserSessionFrom(r)
	data.Registry = ui.registry
	data.Browse = ui.repos != nil || ui.index != nil
	data.Indexed = ui.index != nil
	data.Scans = ui.scans != nil
	var buf bytes.Buffer
	if err := ui.pages.sets[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		ui.log.ErrorContext(r.Context(), "ui: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderFragment writes one named template of a page's set (HTMX swaps).
func (ui *UI) renderFragment(w http.ResponseWriter, r *http.Request, status int, page, name string, data any) {
	var buf bytes.Buffer
	if err := ui.pages.sets[page].ExecuteTemplate(&buf, name, data); err != nil {
		ui.log.ErrorContext(r.Context(), "ui: render fragment", "fragment", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders a message page with an error status.
func (ui *UI) fail(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	ui.render(w, r, status, "message", pageData{Title: heading, Heading: heading, Message: message, Link: "/", LinkText: "Back to ATCR"})
}

//go:embed static
var staticFS embed.FS

// staticHandler serves the embedded stylesheet and HTMX.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		// Not content-hashed names, so a modest cache.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows scripts and styles from this origin only:
// no inline script, no eval (HTMX is configured with allowEval false), no
// framing. Images may come from any https host: READMEs show badges and
// screenshots from where their authors keep them, and avatars come from
// the Bluesky CDN (pkg/appview/markdown keeps only https and small raster
// data: images). There is no form-action: the login form's redirect goes to the
// user's PDS, whichever it is, and Chrome applies form-action to redirects.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
	"connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders sets the headers every UI response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// noStore keeps pages with sessions and tokens out of every cache.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
