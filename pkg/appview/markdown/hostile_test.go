package markdown

import (
	"strings"
	"testing"
)

// TestHostileReadmes renders hostile READMEs and checks the output both
// structurally (assertHarmless parses it) and for what must still show.
func TestHostileReadmes(t *testing.T) {
	png := "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
	cases := []struct {
		name    string
		src     string
		want    []string // must appear in the output
		notWant []string // must not appear (lower-cased output)
	}{
		{name: "script tag", src: "hi <script>alert(1)</script> there\n\n<script src=https://evil.example/x.js></script>",
			want: []string{"hi", "there"}, notWant: []string{"<script", "alert(1)"}},
		{name: "script block", src: "<script>\nalert(document.cookie)\n</script>\n\n# Title",
			want: []string{"Title"}, notWant: []string{"alert", "cookie"}},
		{name: "img onerror", src: `<img src="https://example.com/x.png" onerror="alert(1)">`,
			want: []string{`src="https://example.com/x.png"`}, notWant: []string{"onerror", "alert"}},
		{name: "onclick and friends", src: `<p onclick="alert(1)" onmouseover=alert(2) OnFocus='x'>text</p><a href="https://a.example" onclick="steal()">a</a>`,
			want: []string{"text"}, notWant: []string{"onclick", "onmouseover", "onfocus", "steal"}},
		{name: "javascript link", src: "[click](javascript:alert(1)) and <a href=\"javascript:alert(2)\">raw</a>",
			want: []string{"click", "raw"}, notWant: []string{"javascript"}},
		{name: "mixed case scheme", src: "[x](JaVaScRiPt:alert(1)) <a href=\"JAVASCRIPT:alert(1)\">y</a> <a href=\"  javascript:alert(1)\">z</a>",
			notWant: []string{"javascript"}},
		{name: "entity-encoded scheme", src: `<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">e1</a>` +
			` <a href="&#x6A;avascript&colon;alert(1)">e2</a> <a href="jav&#x09;ascript:alert(1)">e3</a> <a href="java&#10;script:alert(1)">e4</a>` +
			" [md](&#106;avascript:alert(1)) [md2](java&#x0A;script:alert(1))",
			want: []string{"e1", "e2", "e3", "e4"}, notWant: []string{"javascript", "alert(1)"}},
		{name: "entity-encoded image", src: `<img src="&#106;avascript:alert(1)"> ![x](&#x6a;avascript:alert(1))`,
			notWant: []string{"javascript"}},
		{name: "vbscript and file", src: "[v](vbscript:msgbox(1)) <a href=\"file:///etc/passwd\">f</a> [f2](file:///etc/passwd)",
			notWant: []string{"vbscript", "file:"}},
		{name: "data URLs", src: "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) " +
			"<a href=\"data:text/html,<script>alert(1)</script>\">d2</a> ![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+) " +
			"<img src=\"data:text/html;base64,PHNjcmlwdD4=\"> ![ok](" + png + ") [pnglink](" + png + ")",
			want: []string{`src="` + png + `"`}, notWant: []string{"text/html", "svg+xml", `href="data:`}},
		{name: "raw html blocks", src: "<div>\n<form action=\"https://evil.example\"><input name=q><button formaction=x>go</button></form>\n" +
			"<iframe src=\"https://evil.example\"></iframe><object data=x></object><embed src=x>\n" +
			"<style>body{display:none}</style><link rel=stylesheet href=https://evil.example/x.css><meta http-equiv=refresh content=0;url=https://evil.example>\n" +
			"<base href=\"https://evil.example/\"><template><script>alert(1)</script></template>\n</div>\n\nafter",
			want: []string{"after"}, notWant: []string{"<form", "<iframe", "<object", "<embed", "<style", "<link", "<meta", "<base", "display:none", "evil.example"}},
		{name: "huge images", src: `<img src="https://example.com/a.png" width="100000" height="99999"> <img src="https://example.com/b.png" width="2000" height="1"> <img src="https://example.com/c.png" width="100%" height="-5">`,
			want: []string{`width="2000"`, `height="1"`}, notWant: []string{"100000", "99999", "100%", "-5"}},
		{name: "svg with script", src: "<svg onload=\"alert(1)\"><script>alert(2)</script><foreignObject><img src=x onerror=alert(3)></foreignObject></svg>\n\n" +
			"<svg><a xlink:href=\"javascript:alert(4)\"><text>t</text></a></svg> ![s](https://example.com/x.svg)",
			want: []string{`src="https://example.com/x.svg"`}, notWant: []string{"<svg", "alert", "onload", "xlink"}},
		{name: "css expressions", src: `<p style="width: expression(alert(1)); background:url(javascript:alert(2))">s</p>` +
			`<div style="behavior: url(x.htc)" class="bar">c</div><span style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</span>`,
			want: []string{"overlay"}, notWant: []string{"style", "expression", "behavior", "position", "class"}},
		{name: "target and rel", src: `<a href="https://example.com" target="_blank" rel="opener">x</a> [y](https://example.com "title")`,
			want: []string{`rel="` + linkRel + `"`}, notWant: []string{"target", `rel="opener"`}},
		{name: "id clobbering", src: "<a id=\"csrf_token\" name=\"vuln-dialog\">x</a>\n\n# pull-command\n\n[jump](#pull-command)",
			want: []string{`id="readme-csrf_token"`, `id="readme-pull-command"`, `href="#readme-pull-command"`}, notWant: []string{`id="csrf_token"`, `"vuln-dialog"`}},
		{name: "comments and cdata", src: "<!-- <script>alert(1)</script> --> <![CDATA[<script>alert(2)</script>]]> ok",
			want: []string{"ok"}, notWant: []string{"<script"}},
		{name: "autolink schemes", src: "<javascript:alert(1)> www.example.com https://example.com/x <mailto:a@example.com>",
			want: []string{`href="http://www.example.com"`, `href="https://example.com/x"`, `href="mailto:a@example.com"`}, notWant: []string{`href="javascript:`}},
		{name: "markdown image title injection", src: `![a" onerror="alert(1)](https://example.com/a.png "t\" onload=\"alert(2)")`,
			notWant: []string{" onerror=", " onload="}},
		{name: "protocol-relative and backslashes", src: `[p](//evil.example/x) <a href="\\evil.example\x">b</a> <a href="/\evil.example">c</a>`,
			want: []string{`href="https://evil.example/x"`}, notWant: []string{`href="//`, `href="/\`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := render(t, c.src, githubBases)
			out := string(res.HTML)
			lower := strings.ToLower(out)
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, nw := range c.notWant {
				if strings.Contains(lower, strings.ToLower(nw)) {
					t.Errorf("output contains %q:\n%s", nw, out)
				}
			}
		})
	}
}
