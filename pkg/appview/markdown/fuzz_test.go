package markdown

import (
	"context"
	"errors"
	"testing"
)

// FuzzRender: whatever the input, the output passes assertHarmless (or the
// render is refused as too large). Seeds are the hostile cases.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"<script>alert(1)</script>", `<img src=x onerror=alert(1)>`, "[a](javascript:alert(1))",
		`<a href="&#106;avascript:alert(1)">x</a>`, "![a](data:image/svg+xml;base64,PHN2Zz4=)",
		"<svg><script>alert(1)</script></svg>", `<p style="x:expression(alert(1))">`, "> > > > - - - x",
		"| a | b |\n|---|---|\n| <b onclick=x>1</b> | [x](vbscript:y) |", "<a id=x name=y href=#z>j</a>",
		"[r]: javascript:alert(1)\n\n[r]", "<details open><summary>s</summary><iframe src=//x></iframe></details>",
	} {
		f.Add(s)
	}
	r := New()
	f.Fuzz(func(t *testing.T, src string) {
		res, err := r.Render(context.Background(), []byte(src), githubBases)
		if errors.Is(err, ErrTooLarge) {
			return
		}
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		assertHarmless(t, string(res.HTML))
	})
}
