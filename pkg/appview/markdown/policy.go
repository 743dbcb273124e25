package markdown

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// newPolicy is the allow-list every README passes last. It is built from
// an empty policy rather than by subtracting from bluemonday's UGCPolicy,
// so everything allowed is written here: UGCPolicy's tags minus forms and
// with ids only in the README's own namespace.
//
// Not allowed, whatever the Markdown or raw HTML says: script, style,
// iframe, object, embed, form and its controls (the task list checkbox
// aside), svg and math, link, meta, base; every on* handler, style and
// class attribute; any URL scheme but http, https and mailto for links and
// https (and bounded raster data:) for images; target on links, so a README
// cannot open windows that keep a handle on this page.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.RequireParseableURLs(true)
	// rewriteURLs has made every a href and img src absolute, or a
	// #readme-… fragment, or removed it; fragments are the relative URLs
	// left, and no other URL attribute is allowed.
	p.AllowRelativeURLs(true)
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowURLSchemeWithCustomPolicy("data", allowedDataImage)
	// rewriteURLs gives every link exactly linkRel; the policy admits only
	// that value, and adds nofollow and noreferrer itself to any link
	// that reaches it without.
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(false)

	// Text structure.
	p.AllowElements("p", "br", "hr", "blockquote", "pre", "code", "kbd", "samp", "var",
		"em", "strong", "b", "i", "u", "s", "del", "ins", "mark", "small", "sub", "sup",
		"abbr", "cite", "dfn", "q", "ruby", "rp", "rt", "wbr", "span", "div",
		"ul", "ol", "li", "dl", "dt", "dd", "summary", "figure", "figcaption",
		"article", "aside", "section", "h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("open").Matching(regexp.MustCompile(`^(|open)$`)).OnElements("details")
	p.AllowElements("details")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`(?i)^(left|center|right)$`)).
		OnElements("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "img", "td", "th")
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^` + idPrefix + `[\p{L}\p{N}_.:-]{1,128}$`)).Globally()
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).Globally()
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$`)).Globally()
	p.AllowAttrs("dir").Matching(regexp.MustCompile(`(?i)^(rtl|ltr|auto)$`)).Globally()

	// Links.
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + linkRel + `$`)).OnElements("a")

	// Images: https or small raster data: (allowedDataImage; rewriteURLs
	// has removed http and data: from anything but img src), whole-number
	// width and height from 1 to MaxImageDimension.
	p.AllowAttrs("src").OnElements("img")
	p.AllowAttrs("alt").Matching(bluemonday.Paragraph).OnElements("img")
	p.AllowAttrs("width", "height").Matching(imageDimension).OnElements("img")

	// Tables (GFM renders alignment as align on th and td).
	p.AllowElements("table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col")
	p.AllowAttrs("colspan", "rowspan").Matching(regexp.MustCompile(`^[1-9][0-9]?$`)).OnElements("td", "th")

	// A task list item's checkbox, and nothing else of forms.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")

	// The contents of these never show (bluemonday skips script and style
	// by default; the others hold markup that would otherwise spill out as
	// text). Only elements with an end tag: a void one (embed) would hide
	// the rest of the README.
	p.SkipElementsContent("script", "style", "iframe", "object", "svg", "math",
		"template", "noscript", "select", "textarea", "title", "head")
	return p
}

// imageDimension admits 1 to MaxImageDimension (2000).
var imageDimension = regexp.MustCompile(`^([1-9][0-9]{0,2}|1[0-9]{3}|2000)$`)

// dataImageTypes are the data: images allowed: raster formats, which run
// no script in any browser and are how READMEs inline tiny badges. SVG is
// left out: it is a document that can carry script, and a README can link
// its https copy instead.
var dataImageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// allowedDataImage reports whether a data: URL is a base64 raster image no
// longer than MaxDataImageBytes. bluemonday applies scheme policies to
// every URL attribute; rewriteURLs has already removed data: from links.
func allowedDataImage(u *url.URL) bool {
	opaque := u.Opaque
	if len(opaque) > MaxDataImageBytes {
		return false
	}
	meta, payload, ok := strings.Cut(opaque, ",")
	if !ok {
		return false
	}
	mediaType, enc, ok := strings.Cut(strings.ToLower(meta), ";")
	if !ok || enc != "base64" || !dataImageTypes[mediaType] {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(payload)
	return err == nil
}
