package markdown

import (
	"context"
	"html"
	"html/template"
	"net/url"
	"strings"
)

// Annotation keys a README can come from.
const (
	// AnnotationReadme is ATCR's image annotation (or label) naming a URL
	// whose body is the README.
	AnnotationReadme = "io.atcr.readme"
	// AnnotationDescription is the OCI one-line (sometimes longer)
	// description: plain text, never Markdown.
	AnnotationDescription = "org.opencontainers.image.description"
	// AnnotationSource is the OCI source-repository URL, the base for a
	// README's relative links.
	AnnotationSource = "org.opencontainers.image.source"
)

// Inputs is what a repository page knows when it picks a README. Nothing
// here is fetched by this package: a page that wants the io.atcr.readme
// document fetches ReadmeURL(Annotations) through the AppView's guarded
// HTTP client and passes the body as FetchedReadme.
type Inputs struct {
	// PageDescription is the description of the repository's
	// io.atcr.repo.page record (Markdown), "" when there is none.
	PageDescription string
	// Annotations are the shown manifest's annotations (for an index, the
	// index's, or else its first image's).
	Annotations map[string]string
	// FetchedReadme is the body fetched from ReadmeURL(Annotations), ""
	// when it was not fetched or failed.
	FetchedReadme string
}

// Kind says where a README came from.
type Kind int

// The sources, in the order PickSource tries them.
const (
	KindNone        Kind = iota
	KindRepoPage         // io.atcr.repo.page description, Markdown
	KindReadmeURL        // the document at the io.atcr.readme URL, Markdown
	KindDescription      // org.opencontainers.image.description, plain text
)

func (k Kind) String() string {
	switch k {
	case KindRepoPage:
		return "io.atcr.repo.page"
	case KindReadmeURL:
		return AnnotationReadme
	case KindDescription:
		return AnnotationDescription
	}
	return "none"
}

// Source is the chosen README text and how to render it.
type Source struct {
	Kind Kind
	Text string
	// Bases resolve the README's relative links and images.
	Bases Bases
}

// PickSource chooses the README in the original ATCR's order: the
// repository page record's description, then the document the image's
// io.atcr.readme annotation names, then the image's OCI description
// (plain text). Blank texts are skipped.
func PickSource(in Inputs) Source {
	bases := SourceBases(in.Annotations[AnnotationSource])
	switch {
	case strings.TrimSpace(in.PageDescription) != "":
		return Source{Kind: KindRepoPage, Text: in.PageDescription, Bases: bases}
	case strings.TrimSpace(in.FetchedReadme) != "":
		// Relative references in a fetched document are relative to it.
		if u, ok := ReadmeURL(in.Annotations); ok {
			bases = Bases{Links: u, Images: u}
		}
		return Source{Kind: KindReadmeURL, Text: in.FetchedReadme, Bases: bases}
	case strings.TrimSpace(in.Annotations[AnnotationDescription]) != "":
		return Source{Kind: KindDescription, Text: in.Annotations[AnnotationDescription]}
	}
	return Source{Kind: KindNone}
}

// ReadmeURL returns the io.atcr.readme annotation when it is an https URL
// without user info, the only form worth fetching.
func ReadmeURL(annotations map[string]string) (string, bool) {
	raw := strings.TrimSpace(annotations[AnnotationReadme])
	if raw == "" || len(raw) > MaxURLBytes {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return "", false
	}
	return u.String(), true
}

// SourceBases derives link and image bases from an image's source URL
// (org.opencontainers.image.source). For github.com/<owner>/<repo> links
// go to the files' pages (blob/HEAD/) and images to their raw bytes
// (raw/HEAD/), as GitHub renders the same README; for anything else both
// resolve against the URL as a directory. A source that is not an https
// URL gives no bases: relative references are then dropped.
func SourceBases(source string) Bases {
	u, err := url.Parse(strings.TrimSpace(source))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(source) > MaxURLBytes {
		return Bases{}
	}
	u.RawQuery, u.Fragment = "", ""
	path := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	if strings.EqualFold(u.Host, "github.com") {
		if parts := strings.Split(strings.Trim(path, "/"), "/"); len(parts) == 2 && parts[0] != "" && parts[1] != "" {
			root := "https://github.com/" + parts[0] + "/" + parts[1] + "/"
			return Bases{Links: root + "blob/HEAD/", Images: root + "raw/HEAD/"}
		}
	}
	u.Path = path + "/"
	u.RawPath = ""
	return Bases{Links: u.String(), Images: u.String()}
}

// RenderSource renders a picked source: Markdown through Render, a plain
// description as escaped text (paragraphs at blank lines, <br> at line
// breaks), nothing for KindNone.
func (r *Renderer) RenderSource(ctx context.Context, s Source) (Result, error) {
	switch s.Kind {
	case KindRepoPage, KindReadmeURL:
		return r.Render(ctx, []byte(s.Text), s.Bases)
	case KindDescription:
		return PlainText(s.Text), nil
	}
	return Result{}, nil
}

// PlainText renders text as HTML that shows exactly the text: every
// character escaped, clipped at MaxDescriptionBytes.
func PlainText(s string) Result {
	b, truncated := clip([]byte(s), MaxDescriptionBytes)
	s = strings.ReplaceAll(string(b), "\r\n", "\n")
	var out strings.Builder
	for _, para := range strings.Split(s, "\n\n") {
		para = strings.Trim(para, "\n")
		if strings.TrimSpace(para) == "" {
			continue
		}
		out.WriteString("<p>")
		out.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>"))
		out.WriteString("</p>\n")
	}
	return Result{HTML: template.HTML(out.String()), Truncated: truncated} // #nosec G203 -- every byte of text is escaped
}
