package markdown

import (
	"bytes"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// idPrefix goes before every id a README defines and every fragment it
// links to, so "#install" in a README reaches the README's own heading
// and never one of the page's elements (GitHub does the same with
// "user-content-").
const idPrefix = "readme-"

// linkRel is the rel of every README link: no ranking credit for what
// anyone can write, no Referer, no window.opener.
const linkRel = "nofollow noopener noreferrer"

// Bases are what relative URLs in a README resolve against. Each must be
// an absolute http(s) URL ending in "/" to act as a directory; an empty
// base drops relative URLs of its kind.
type Bases struct {
	Links  string // <a href>
	Images string // <img src>
}

// resolver resolves relative references against parsed Bases.
type resolver struct {
	links, images *url.URL
}

func newResolver(b Bases) resolver {
	return resolver{links: parseBase(b.Links), images: parseBase(b.Images)}
}

// parseBase accepts only absolute http(s) URLs without user info.
func parseBase(s string) *url.URL {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil
	}
	return u
}

// resolve returns ref made absolute against base, "" to drop it. Absolute
// URLs pass through unchanged: the policy judges their scheme later.
// Fragments become #readme-….
func (r resolver) resolve(ref string, base *url.URL) string {
	ref = strings.TrimSpace(ref)
	if strings.HasPrefix(ref, "#") {
		if ref == "#" {
			return ""
		}
		return "#" + idPrefix + strings.TrimPrefix(ref[1:], idPrefix)
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if u.Scheme != "" || u.Host != "" {
		// Absolute or scheme-relative (//host/x): scheme-relative takes
		// the base's scheme, or https without one.
		if u.Scheme == "" {
			u.Scheme = "https"
		}
		return u.String()
	}
	if base == nil {
		return ""
	}
	return base.ResolveReference(u).String()
}

// rewriteURLs copies the HTML goldmark rendered, resolving a and img URLs,
// prefixing id attributes and capping element depth (depthLimiter). The
// policy, not this pass, is the security boundary; this pass makes
// relative references mean what the author meant and keeps raw HTML from
// nesting without end.
func rewriteURLs(dst io.Writer, src []byte, r resolver) error {
	z := html.NewTokenizer(bytes.NewReader(src))
	var depth depthLimiter
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return nil
			}
			return z.Err()
		case html.EndTagToken:
			name, _ := z.TagName()
			if !depth.end(string(name)) {
				continue
			}
			if _, err := dst.Write(z.Raw()); err != nil {
				return err
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if tt == html.StartTagToken && !depth.start(tok.Data) {
				continue
			}
			attrs := tok.Attr[:0]
			for _, a := range tok.Attr {
				switch {
				case a.Key == "href" && tok.Data == "a":
					a.Val = r.resolve(a.Val, r.links)
					if hasScheme(a.Val, "data") {
						a.Val = ""
					}
				case a.Key == "src" && tok.Data == "img":
					// https or data: only; an http image is mixed content.
					a.Val = r.resolve(a.Val, r.images)
					if !hasScheme(a.Val, "https") && !hasScheme(a.Val, "data") {
						continue
					}
				case a.Key == "rel" && tok.Data == "a":
					continue // replaced below
				case a.Key == "id" || a.Key == "name":
					a.Val = idPrefix + strings.TrimPrefix(a.Val, idPrefix)
				}
				attrs = append(attrs, a)
			}
			if tok.Data == "a" && hasHref(attrs) {
				attrs = append(attrs, html.Attribute{Key: "rel", Val: linkRel})
			}
			tok.Attr = attrs
			if _, err := io.WriteString(dst, tok.String()); err != nil {
				return err
			}
		default:
			if _, err := dst.Write(z.Raw()); err != nil {
				return err
			}
		}
	}
}

// hasScheme reports whether the URL s starts with scheme followed by ":",
// in any case.
func hasScheme(s, scheme string) bool {
	return len(s) > len(scheme) && s[len(scheme)] == ':' && strings.EqualFold(s[:len(scheme)], scheme)
}

func hasHref(attrs []html.Attribute) bool {
	for _, a := range attrs {
		if a.Key == "href" && a.Val != "" {
			return true
		}
	}
	return false
}

// voidElements have no end tag and so add no depth.
var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// depthLimiter keeps the depth of open elements at most MaxHTMLDepth: a
// start tag past it is dropped, and so is one end tag for each dropped
// start tag (whatever its name, since the excess is only counted). It
// tracks depth as written; a browser's implicit closing only lowers it.
type depthLimiter struct {
	open    []string // names of the open elements written
	dropped int      // start tags dropped past the limit, not yet closed
}

// start reports whether a start tag may be written.
func (d *depthLimiter) start(name string) bool {
	if voidElements[name] {
		return true
	}
	if len(d.open) >= MaxHTMLDepth {
		d.dropped++
		return false
	}
	d.open = append(d.open, name)
	return true
}

// end reports whether an end tag may be written, and closes what it ends.
func (d *depthLimiter) end(name string) bool {
	if d.dropped > 0 {
		d.dropped--
		return false
	}
	for i := len(d.open) - 1; i >= 0; i-- {
		if d.open[i] == name {
			d.open = d.open[:i]
			return true
		}
	}
	return true // closes nothing we opened; the policy and browser ignore it
}
