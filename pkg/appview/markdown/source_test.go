package markdown

import (
	"context"
	"strings"
	"testing"
)

func TestPickSourceOrder(t *testing.T) {
	ann := map[string]string{
		AnnotationReadme:      "https://raw.example.com/alice/app/main/README.md",
		AnnotationDescription: "Plain description",
		AnnotationSource:      "https://github.com/alice/app",
	}
	cases := []struct {
		name string
		in   Inputs
		want Kind
		text string
	}{
		{"repo page first", Inputs{PageDescription: "# Page", Annotations: ann, FetchedReadme: "# Fetched"}, KindRepoPage, "# Page"},
		{"blank page skipped", Inputs{PageDescription: "  \n", Annotations: ann, FetchedReadme: "# Fetched"}, KindReadmeURL, "# Fetched"},
		{"not fetched: description", Inputs{Annotations: ann}, KindDescription, "Plain description"},
		{"nothing", Inputs{Annotations: map[string]string{AnnotationSource: "https://github.com/alice/app"}}, KindNone, ""},
		{"no annotations", Inputs{}, KindNone, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := PickSource(c.in)
			if got.Kind != c.want || got.Text != c.text {
				t.Fatalf("got %v %q, want %v %q", got.Kind, got.Text, c.want, c.text)
			}
		})
	}
	// A repo page's relative links go to the source repository; a fetched
	// README's relative to the README itself.
	if b := PickSource(cases[0].in).Bases; b.Links != "https://github.com/alice/app/blob/HEAD/" {
		t.Errorf("repo page bases %+v", b)
	}
	if b := PickSource(cases[1].in).Bases; b.Images != ann[AnnotationReadme] {
		t.Errorf("fetched README bases %+v", b)
	}
}

func TestReadmeURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://raw.example.com/README.md":      true,
		"http://raw.example.com/README.md":       false,
		"https://user:pw@raw.example.com/x":      false,
		"javascript:alert(1)":                    false,
		"file:///etc/passwd":                     false,
		"/relative/README.md":                    false,
		"":                                       false,
		"https://x/" + strings.Repeat("a", 3000): false,
	} {
		if _, got := ReadmeURL(map[string]string{AnnotationReadme: raw}); got != ok {
			t.Errorf("ReadmeURL(%.40q) = %v, want %v", raw, got, ok)
		}
	}
}

func TestSourceBases(t *testing.T) {
	cases := map[string]Bases{
		"https://github.com/alice/app":             {Links: "https://github.com/alice/app/blob/HEAD/", Images: "https://github.com/alice/app/raw/HEAD/"},
		"https://github.com/alice/app.git":         {Links: "https://github.com/alice/app/blob/HEAD/", Images: "https://github.com/alice/app/raw/HEAD/"},
		"https://tangled.org/alice.example/app/":   {Links: "https://tangled.org/alice.example/app/", Images: "https://tangled.org/alice.example/app/"},
		"https://git.example.com/a/b?x=1#frag":     {Links: "https://git.example.com/a/b/", Images: "https://git.example.com/a/b/"},
		"http://github.com/alice/app":              {},
		"javascript:alert(1)":                      {},
		"git@github.com:alice/app.git":             {},
		"https://attacker:pw@github.com/alice/app": {},
		"": {},
	}
	for src, want := range cases {
		if got := SourceBases(src); got != want {
			t.Errorf("SourceBases(%q) = %+v, want %+v", src, got, want)
		}
	}
}

// A description is plain text: HTML in it shows as text, never as markup.
func TestDescriptionRendersAsText(t *testing.T) {
	desc := "<script>alert(1)</script> <img src=x onerror=alert(2)> **not bold** [not](javascript:a)\nsecond line\n\nnew paragraph & more"
	src := PickSource(Inputs{Annotations: map[string]string{AnnotationDescription: desc}})
	res, err := New().RenderSource(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.HTML)
	assertHarmless(t, out)
	want := "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt; **not bold** [not](javascript:a)<br>second line</p>\n<p>new paragraph &amp; more</p>\n"
	if out != want {
		t.Fatalf("description:\n got %q\nwant %q", out, want)
	}
	long := PlainText(strings.Repeat("x", MaxDescriptionBytes+10))
	if !long.Truncated || len(long.HTML) > MaxDescriptionBytes+16 {
		t.Errorf("long description: truncated %v, %d bytes", long.Truncated, len(long.HTML))
	}
}

func TestRenderSourceMarkdown(t *testing.T) {
	src := PickSource(Inputs{PageDescription: "# Title\n\n[docs](docs/a.md)", Annotations: map[string]string{AnnotationSource: "https://github.com/alice/app"}})
	res, err := New().RenderSource(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if out := string(res.HTML); !strings.Contains(out, `href="https://github.com/alice/app/blob/HEAD/docs/a.md"`) {
		t.Fatalf("rendered:\n%s", out)
	}
	if res, err := New().RenderSource(context.Background(), Source{}); err != nil || res.HTML != "" {
		t.Fatalf("KindNone: %q %v", res.HTML, err)
	}
}
