package markdown

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// hostileSizes are inputs built to cost: deep nesting, pathological
// emphasis and brackets, amplifying tables and references. Each renders
// harmless or is refused with ErrTooLarge; the time is logged (and
// measured properly by BenchmarkHostile), never asserted.
var hostileSizes = []struct {
	name string
	src  func() string
	// tooLarge: refused with ErrTooLarge rather than rendered.
	tooLarge bool
}{
	{name: "blockquotes 100k deep", src: func() string { return strings.Repeat(">", 100_000) + " deep\n" }},
	{name: "lists 100k deep", src: func() string { return strings.Repeat("- ", 100_000) + "deep\n" }},
	{name: "quotes and lists 50k deep", src: func() string { return strings.Repeat("> - ", 50_000) + "deep\n" }},
	{name: "ordered lists 30k deep", src: func() string { return strings.Repeat("1. ", 30_000) + "deep\n" }},
	{name: "emphasis *a 200k", src: func() string { return strings.Repeat("*a", 200_000) }},
	{name: "emphasis ** 200k", src: func() string { return strings.Repeat("**", 200_000) + "a" }},
	{name: "emphasis _a_ mixed", src: func() string { return strings.Repeat("_a*b__c**", 50_000) }},
	{name: "open brackets 250k", src: func() string { return strings.Repeat("[", 250_000) + "a" + strings.Repeat("](b)", 1) }},
	{name: "image brackets", src: func() string { return strings.Repeat("![[", 150_000) }},
	{name: "unclosed links", src: func() string { return strings.Repeat("[a](", 120_000) }},
	{name: "backticks", src: func() string { return strings.Repeat("`a``", 120_000) }},
	{name: "angle brackets", src: func() string { return strings.Repeat("<a ", 150_000) }},
	{name: "html nesting 100k", src: func() string { return strings.Repeat("<div><span>", 45_000) + "x" }},
	{name: "linkify", src: func() string { return strings.Repeat("www.a.io ", 55_000) }},
	{name: "table 20k columns × 60k rows", src: func() string {
		return strings.Repeat("|a", 20_000) + "|\n" + strings.Repeat("|-", 20_000) + "|\n" + strings.Repeat("x\n", 60_000)
	}},
	{name: "table 64 columns × 100k rows", src: func() string {
		return strings.Repeat("|a", 64) + "|\n" + strings.Repeat("|-", 64) + "|\n" + strings.Repeat("x\n", 100_000)
	}},
	{name: "long reference used 100k times", src: func() string {
		return "[r]: https://example.com/" + strings.Repeat("a", 4000) + "\n\n" + strings.Repeat("[r] ", 100_000)
	}},
	{name: "reference at the URL limit used 120k times", tooLarge: true, src: func() string {
		para := strings.Repeat("[r]", MaxInlineDelimiters) + "\n\n" // each closer is still a link
		return "[r]: https://example.com/" + strings.Repeat("a", MaxURLBytes-30) + "\n\n" + strings.Repeat(para, 200)
	}},
	{name: "1 MiB README", src: func() string {
		para := "Lorem ipsum **dolor** sit amet, [consectetur](https://example.com) adipiscing `elit`.\n\n"
		return strings.Repeat("## Section\n\n"+para+"- item\n- item\n\n", (1<<20)/150)
	}},
}

func TestHostileSizes(t *testing.T) {
	r := New()
	for _, c := range hostileSizes {
		t.Run(c.name, func(t *testing.T) {
			src := c.src()
			start := time.Now()
			res, err := r.Render(context.Background(), []byte(src), githubBases)
			elapsed := time.Since(start)
			t.Logf("%d bytes in, %d bytes out, truncated %v, %v", len(src), len(res.HTML), res.Truncated, elapsed)
			if c.tooLarge {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("err %v, want ErrTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			out := string(res.HTML)
			if len(out) > MaxOutputBytes {
				t.Errorf("output %d bytes > %d", len(out), MaxOutputBytes)
			}
			if res.Truncated != (len(src) > MaxSourceBytes) {
				t.Errorf("truncated %v for %d bytes", res.Truncated, len(src))
			}
			assertHarmless(t, out)
			if d := blockDepth(t, out); d > MaxNesting+2 {
				t.Errorf("blockquote/list nesting %d in the output", d)
			}
		})
	}
}

// TestAmplifyingTableStaysText: a table that would pad to more than
// MaxTableCells is not built at all.
func TestAmplifyingTableStaysText(t *testing.T) {
	src := strings.Repeat("|a", 1000) + "|\n" + strings.Repeat("|-", 1000) + "|\n" + strings.Repeat("x\n", 100)
	out := string(render(t, src, Bases{}).HTML)
	if strings.Contains(out, "<table") {
		t.Fatalf("a %d-cell table was built", 1000*101)
	}
	small := "|a|b|\n|-|-|\n|1|\n"
	if out := string(render(t, small, Bases{}).HTML); !strings.Contains(out, "<table>") {
		t.Fatalf("a small table was refused:\n%s", out)
	}
}

// TestLongReferenceDropped: a destination past MaxURLBytes goes, its text
// stays.
func TestLongReferenceDropped(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxURLBytes)
	out := string(render(t, "[r]: "+long+"\n\n[see][r] ![pic]("+long+")", Bases{}).HTML)
	if strings.Contains(out, "aaaa") || !strings.Contains(out, "see") || !strings.Contains(out, "pic") {
		t.Fatalf("long destination:\n%.500s", out)
	}
}

// blockDepth is the deepest nesting of blockquote, ul, ol and li.
func blockDepth(t *testing.T, out string) int {
	t.Helper()
	nodes, err := html.ParseFragment(strings.NewReader(out), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		t.Fatal(err)
	}
	deepest := 0
	var walk func(n *html.Node, d int)
	walk = func(n *html.Node, d int) {
		if n.Type == html.ElementNode && (n.DataAtom == atom.Blockquote || n.DataAtom == atom.Ul || n.DataAtom == atom.Ol) {
			d++
		}
		deepest = max(deepest, d)
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, d)
		}
	}
	for _, n := range nodes {
		walk(n, 0)
	}
	return deepest
}
