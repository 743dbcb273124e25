package markdown

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// forbiddenElements must never appear in rendered output.
var forbiddenElements = map[string]bool{
	"script": true, "style": true, "iframe": true, "frame": true, "frameset": true, "object": true,
	"embed": true, "applet": true, "form": true, "button": true, "select": true, "textarea": true,
	"svg": true, "math": true, "link": true, "meta": true, "base": true, "template": true,
	"noscript": true, "audio": true, "video": true, "source": true, "portal": true, "dialog": true,
}

// assertHarmless parses out as an HTML fragment and fails on anything that
// could run script, restyle the page, submit, frame, navigate oddly or
// collide with the page's ids.
func assertHarmless(t *testing.T, out string) {
	t.Helper()
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(out), ctx)
	if err != nil {
		t.Fatalf("parse output: %v", err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			checkElement(t, n)
		}
		if n.Type == html.CommentNode {
			t.Errorf("comment survived: %q", n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
}

func checkElement(t *testing.T, n *html.Node) {
	t.Helper()
	if forbiddenElements[n.Data] {
		t.Errorf("element <%s> survived", n.Data)
	}
	attrs := map[string]string{}
	for _, a := range n.Attr {
		attrs[a.Key] = a.Val
		key := strings.ToLower(a.Key)
		switch {
		case strings.HasPrefix(key, "on"), key == "style", key == "class", key == "srcdoc", key == "srcset",
			key == "formaction", key == "target", key == "background", key == "dynsrc", key == "lowsrc",
			key == "xlink:href", key == "action", key == "form", key == "ping", key == "download":
			t.Errorf("<%s %s=%q> survived", n.Data, a.Key, a.Val)
		case key == "href":
			if n.Data != "a" {
				t.Errorf("href on <%s>", n.Data)
			}
			checkURL(t, n.Data, a.Val, "http", "https", "mailto")
		case key == "src":
			if n.Data != "img" {
				t.Errorf("src on <%s>", n.Data)
			}
			checkURL(t, n.Data, a.Val, "https", "data")
			if strings.HasPrefix(strings.ToLower(a.Val), "data:") && !allowedDataImage(mustParse(t, a.Val)) {
				t.Errorf("data: image %.60q survived", a.Val)
			}
		case key == "width" || key == "height":
			v, err := strconv.Atoi(a.Val)
			if err != nil || v < 1 || v > MaxImageDimension {
				t.Errorf("<%s %s=%q> survived", n.Data, a.Key, a.Val)
			}
		case key == "id" || key == "name":
			if !strings.HasPrefix(a.Val, idPrefix) {
				t.Errorf("<%s %s=%q> is outside the README's id namespace", n.Data, a.Key, a.Val)
			}
		}
	}
	if n.Data == "a" && attrs["href"] != "" && attrs["rel"] != linkRel {
		t.Errorf("link %q has rel %q, want %q", attrs["href"], attrs["rel"], linkRel)
	}
	if n.Data == "input" && attrs["type"] != "checkbox" {
		t.Errorf("<input type=%q> survived", attrs["type"])
	}
}

// checkURL fails unless raw is a fragment of the README or an absolute URL
// with one of schemes. The browser's view is what counts: html.Parse has
// already decoded entities.
func checkURL(t *testing.T, element, raw string, schemes ...string) {
	t.Helper()
	if strings.HasPrefix(raw, "#"+idPrefix) && element == "a" {
		return
	}
	u := mustParse(t, raw)
	for _, s := range schemes {
		if u.Scheme == s {
			if (s == "http" || s == "https") && u.Host == "" {
				t.Errorf("<%s> URL %q has no host", element, raw)
			}
			return
		}
	}
	t.Errorf("<%s> URL %.80q: scheme %q not allowed", element, raw, u.Scheme)
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	// Browsers strip ASCII tab and newline from URLs and trim spaces.
	cleaned := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.TrimSpace(raw))
	u, err := url.Parse(cleaned)
	if err != nil {
		t.Errorf("unparseable URL %.80q survived: %v", raw, err)
		return &url.URL{}
	}
	return u
}

func render(t *testing.T, src string, bases Bases) Result {
	t.Helper()
	res, err := New().Render(context.Background(), []byte(src), bases)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	assertHarmless(t, string(res.HTML))
	return res
}

// githubBases are what SourceBases gives for a GitHub source URL.
var githubBases = Bases{Links: "https://github.com/alice/app/blob/HEAD/", Images: "https://github.com/alice/app/raw/HEAD/"}
