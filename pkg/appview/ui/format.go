package ui

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"atcr.io/pkg/oci"
)

// templateFuncs format values for the pages. They return plain strings:
// html/template escapes them like any other value.
var templateFuncs = template.FuncMap{
	"short":   shortDigest,
	"size":    humanSize,
	"when":    when,
	"iso":     isoTime,
	"join":    strings.Join,
	"weblink": isWebLink,
	"add":     func(a, b int) int { return a + b },
	"scanURL": scanURL,
	"expandArgs": func(base string, d oci.Digest, label string) expandLink {
		return expandLink{Base: base, Digest: d, Label: label}
	},
}

// expandLink is what the "expand" template needs: a manifest's details
// link under a repository page.
type expandLink struct {
	Base   string
	Digest oci.Digest
	Label  string
}

// shortDigest is "sha256:" and the first 12 hex digits, as docker prints.
func shortDigest(d oci.Digest) string {
	if d.IsZero() {
		return ""
	}
	hex := d.Hex()
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return string(d.Algorithm()) + ":" + hex
}

// humanSize formats a byte count in binary units ("4.2 MiB"); 0 is
// unknown ("—").
func humanSize(n int64) string {
	if n <= 0 {
		return "—"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// when formats a time in UTC to the minute; the zero time is "unknown".
func when(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(timeLayout)
}

// isoTime is the machine-readable form for <time datetime>.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// isWebLink reports an absolute http(s) URL: annotation values like
// org.opencontainers.image.source become links only then (html/template
// would neutralise a javascript: URL anyway; this keeps other text text).
func isWebLink(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}
