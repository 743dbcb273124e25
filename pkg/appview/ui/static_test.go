package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// htmxSHA256 is the sha256 of dist/htmx.min.js in the npm package
// htmx.org@2.0.11 (tarball sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==,
// as the registry lists it). Update both together: npm pack htmx.org@<v>,
// copy package/dist/htmx.min.js to static/.
const htmxSHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"

func TestVendoredHTMX(t *testing.T) {
	raw, err := staticFS.ReadFile("static/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != htmxSHA256 {
		t.Fatalf("static/htmx.min.js sha256 = %s, want %s (htmx.org@2.0.11)", got, htmxSHA256)
	}
	if !strings.Contains(string(raw), `version:"2.0.11"`) {
		t.Error("the embedded file does not declare version 2.0.11")
	}
}

var (
	scriptTag = regexp.MustCompile(`<script[^>]*>`)
	eventAttr = regexp.MustCompile(`\son[a-z]+\s*=`)
)

// Pages and assets carry the security headers; pages are never cached.
func TestSecurityHeaders(t *testing.T) {
	e := newTestEnv(t)
	b := e.browser()
	for _, path := range []string{"/", "/login", "/static/htmx.min.js", "/static/style.css"} {
		r := b.get(path)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", path, r.StatusCode)
		}
		h := r.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP = %q", path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Frame-Options %q, X-Content-Type-Options %q", path, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
		}
		if strings.HasPrefix(path, "/static/") {
			continue
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, h.Get("Cache-Control"))
		}
		for _, tag := range scriptTag.FindAllString(r.body, -1) {
			if !strings.Contains(tag, `src="/static/`) {
				t.Errorf("%s has an inline or foreign script: %s", path, tag)
			}
		}
		if m := eventAttr.FindString(r.body); m != "" {
			t.Errorf("%s has an inline event handler: %s", path, m)
		}
	}
	if r := b.get("/static/htmx.min.js"); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("htmx Content-Type = %q", r.Header.Get("Content-Type"))
	}
	if r := b.get("/static/"); r.StatusCode != http.StatusNotFound {
		t.Errorf("/static/ listing: %d, want 404", r.StatusCode)
	}
}
