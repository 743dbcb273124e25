package markdown

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestRenderGFM(t *testing.T) {
	src := "# Hello World\n\n## Hello World\n\n~~gone~~ and www.example.com\n\n" +
		"| a | b |\n|:--|--:|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n" +
		"[docs](docs/usage.md) [up](../x) [q](?tab=1) [top](#hello-world) ![logo](img/logo.png) <img src=\"raw.png\" width=\"120\">\n"
	out := string(render(t, src, githubBases).HTML)
	for _, want := range []string{
		`<h1 id="readme-hello-world">Hello World</h1>`,
		`<h2 id="readme-hello-world-1">Hello World</h2>`,
		`<del>gone</del>`,
		`<a href="http://www.example.com" rel="nofollow noopener noreferrer">www.example.com</a>`,
		`<table>`, `<th align="left">a</th>`, `<td align="right">2</td>`,
		`<input checked="" disabled="" type="checkbox"> done`, `<input disabled="" type="checkbox"> todo`,
		`href="https://github.com/alice/app/blob/HEAD/docs/usage.md"`,
		`href="https://github.com/alice/app/blob/x"`, // ../ climbs out of HEAD/ as a browser would
		`href="https://github.com/alice/app/blob/HEAD/?tab=1"`,
		`href="#readme-hello-world"`,
		`src="https://github.com/alice/app/raw/HEAD/img/logo.png"`,
		`src="https://github.com/alice/app/raw/HEAD/raw.png" width="120"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s\n%s", want, out)
		}
	}
}

// Without bases relative links and images are removed; their text stays.
func TestRenderDropsRelativeWithoutBase(t *testing.T) {
	out := string(render(t, "[docs](docs/usage.md) ![logo](logo.png) <img src=\"/abs.png\"> [ok](https://example.com) [frag](#x)", Bases{}).HTML)
	if strings.Contains(out, "usage.md") || strings.Contains(out, "logo.png") || strings.Contains(out, "abs.png") {
		t.Errorf("relative URL survived:\n%s", out)
	}
	for _, want := range []string{"docs", `href="https://example.com"`, `href="#readme-x"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

// http images are mixed content on an https page: removed; http links stay.
func TestRenderImageSchemes(t *testing.T) {
	out := string(render(t, "![a](http://example.com/a.png) ![b](https://example.com/b.png) [c](http://example.com/c)", Bases{}).HTML)
	if strings.Contains(out, "http://example.com/a.png") || !strings.Contains(out, `src="https://example.com/b.png"`) ||
		!strings.Contains(out, `href="http://example.com/c"`) {
		t.Errorf("image schemes:\n%s", out)
	}
}

func TestRenderTypicalReadme(t *testing.T) {
	src, err := os.ReadFile("testdata/typical-readme.md")
	if err != nil {
		t.Fatal(err)
	}
	res := render(t, string(src), SourceBases("https://github.com/alice/app"))
	out := string(res.HTML)
	if res.Truncated || !strings.Contains(out, `<h2 id="readme-usage">Usage</h2>`) || !strings.Contains(out, "<pre><code>docker run") {
		t.Errorf("typical README rendered oddly (truncated %v):\n%.2000s", res.Truncated, out)
	}
	if !strings.Contains(out, `src="https://github.com/alice/app/raw/HEAD/docs/logo.png"`) {
		t.Errorf("the centred logo's relative src was not resolved")
	}
}

func TestRenderHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().Render(ctx, []byte("# hi"), Bases{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("line\n", 100) // 500 bytes
	got, cut := clip([]byte(long), 203)
	if !cut || string(got) != strings.Repeat("line\n", 40) {
		t.Errorf("clip at a line: %q %v", got, cut)
	}
	// No newline in the second half: cut inside the line, never inside a
	// UTF-8 sequence.
	s := strings.Repeat("é", 100) // 200 bytes
	got, cut = clip([]byte(s), 51)
	if !cut || string(got) != strings.Repeat("é", 25) {
		t.Errorf("clip in UTF-8: %q %v", got, cut)
	}
	if got, cut := clip([]byte("short"), 10); cut || string(got) != "short" {
		t.Errorf("short input clipped")
	}
}

// One Renderer serves concurrent renders (run with -race).
func TestRenderConcurrently(t *testing.T) {
	r := New()
	src := []byte("# T\n\n" + strings.Repeat("*a* [l](x) ", 300) + "\n\n| a |\n|---|\n| b |\n")
	want, err := r.Render(context.Background(), src, githubBases)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := r.Render(context.Background(), src, githubBases)
			if err == nil && got != want {
				err = errors.New("a concurrent render differs")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
