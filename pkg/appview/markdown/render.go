package markdown

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Renderer renders READMEs. It is safe for concurrent use; build one with
// New and keep it.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// Result is a rendered README.
type Result struct {
	// HTML is sanitized and safe to put in a page as is.
	HTML template.HTML
	// Truncated says the source was clipped at MaxSourceBytes.
	Truncated bool
}

// New builds a Renderer: goldmark with the GFM extensions (the table one
// behind tableGuard), heading IDs and raw HTML passed on to the policy.
func New() *Renderer {
	md := goldmark.New(
		goldmark.WithExtensions(extension.Strikethrough, extension.Linkify, extension.TaskList),
		goldmark.WithParserOptions(
			parser.WithAutoHeadingID(),
			parser.WithParagraphTransformers(util.Prioritized(newTableGuard(), 200)),
			parser.WithInlineParsers(util.Prioritized(inlineGuard{}, 0)), // before every other
			parser.WithASTTransformers(
				util.Prioritized(extension.NewTableASTTransformer(), 0),
				util.Prioritized(treeGuard{}, -100),
			),
		),
		goldmark.WithRendererOptions(
			gmhtml.WithUnsafe(), // raw HTML goes on to the policy, which is the gate
			// align attributes, not style (which the policy drops)
			renderer.WithNodeRenderers(util.Prioritized(extension.NewTableHTMLRenderer(
				extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)), 500)),
		),
	)
	return &Renderer{md: md, policy: newPolicy()}
}

// Render turns Markdown into sanitized HTML; relative links and images
// resolve against bases (or are dropped). It fails with ErrTooLarge when
// the output passes a cap, and with ctx's error when ctx ends first (the
// steps are bounded, so ctx is checked between them).
func (r *Renderer) Render(ctx context.Context, src []byte, bases Bases) (Result, error) {
	var res Result
	src, res.Truncated = clip(src, MaxSourceBytes)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	src = limitLineNesting(src)
	pc := parser.NewContext()
	doc := r.md.Parser().Parse(text.NewReader(src), parser.WithContext(pc))
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if pc.Get(tooLargeKey) != nil {
		return Result{}, ErrTooLarge
	}
	rendered := &cappedBuffer{max: MaxRenderedBytes}
	if err := r.md.Renderer().Render(rendered, src, doc); err != nil || rendered.over {
		if rendered.over || errors.Is(err, ErrTooLarge) {
			return Result{}, ErrTooLarge
		}
		return Result{}, fmt.Errorf("markdown: render: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	var resolved bytes.Buffer
	resolved.Grow(rendered.buf.Len() + rendered.buf.Len()/8)
	if err := rewriteURLs(&resolved, rendered.buf.Bytes(), newResolver(bases)); err != nil {
		return Result{}, fmt.Errorf("markdown: rewrite URLs: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	out := r.policy.SanitizeReader(&resolved)
	if out.Len() > MaxOutputBytes {
		return Result{}, ErrTooLarge
	}
	res.HTML = template.HTML(out.String()) // #nosec G203 -- sanitized by the policy just above
	return res, nil
}

// clip cuts src to at most max bytes, at the last line break when there is
// one in the second half (so a clip does not split a line, nor a UTF-8
// sequence in the line it keeps).
func clip(src []byte, max int) ([]byte, bool) {
	if len(src) <= max {
		return src, false
	}
	cut := src[:max]
	if i := bytes.LastIndexByte(cut, '\n'); i >= max/2 {
		return cut[:i+1], true
	}
	for len(cut) > 0 && cut[len(cut)-1]&0xC0 == 0x80 { // inside a UTF-8 sequence
		cut = cut[:len(cut)-1]
	}
	if len(cut) > 0 && cut[len(cut)-1] >= 0xC0 {
		cut = cut[:len(cut)-1]
	}
	return cut, true
}

// cappedBuffer is a writer that stops taking bytes past max; goldmark's
// writers ignore write errors, so over is checked after rendering, and
// writes past the cap cost nothing.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.over {
		return 0, ErrTooLarge
	}
	if c.buf.Len()+len(p) > c.max {
		c.over = true
		return 0, ErrTooLarge
	}
	return c.buf.Write(p)
}
