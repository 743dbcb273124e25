package markdown

import (
	"bytes"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// tableGuard wraps goldmark's table paragraph transformer: GFM pads every
// short row to the header's width, so a wide header over many one-cell
// rows would allocate columns × rows cells. A paragraph that could become
// a table wider than MaxTableColumns or with more than MaxTableCells cells
// is left a paragraph (its text shows as written).
type tableGuard struct {
	inner parser.ParagraphTransformer
}

func newTableGuard() *tableGuard {
	return &tableGuard{inner: extension.NewTableParagraphTransformer()}
}

func (g *tableGuard) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	lines := node.Lines()
	for i := 1; i < lines.Len(); i++ {
		seg := lines.At(i)
		cols := delimiterColumns(seg.Value(reader.Source()))
		if cols == 0 {
			continue
		}
		rows := lines.Len() - i // the header plus the body rows below the delimiter
		if cols > MaxTableColumns || cols*rows > MaxTableCells {
			return
		}
	}
	g.inner.Transform(node, reader, pc)
}

// delimiterColumns returns how many columns a line would give as a table's
// delimiter row (| :--- | ---: |), or 0 when it cannot be one. It counts
// runs of dashes, an upper bound of what goldmark accepts.
func delimiterColumns(line []byte) int {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || bytes.IndexByte(line, '-') < 0 {
		return 0
	}
	cols, inRun := 0, false
	for _, c := range line {
		switch c {
		case '-':
			if !inRun {
				cols++
				inRun = true
			}
		case '|', ':', ' ', '\t':
			inRun = inRun && c == ':'
		default:
			return 0
		}
	}
	return cols
}

// treeGuard runs after parsing: it lifts blocks nested deeper than
// MaxNesting into their ancestor, and drops link and image destinations
// longer than MaxURLBytes (and titles over MaxTitleBytes), since a
// reference definition is copied into every link that uses it. When the
// URLs that remain would alone pass MaxRenderedBytes it marks the context
// (tooLargeKey), so Render refuses before rendering them.
type treeGuard struct{}

// tooLargeKey marks a parse whose links alone exceed MaxRenderedBytes.
var tooLargeKey = parser.NewContextKey()

func (treeGuard) Transform(doc *ast.Document, _ text.Reader, pc parser.Context) {
	flatten(doc, 0)
	if dropLongDestinations(doc) > MaxRenderedBytes {
		pc.Set(tooLargeKey, true)
	}
}

// nests reports whether n is a block that adds a level of nesting.
func nests(n ast.Node) bool {
	switch n.Kind() {
	case ast.KindBlockquote, ast.KindList, ast.KindListItem:
		return true
	}
	return false
}

// flatten walks the blocks under root, which sits at nesting depth
// depth; a nesting block that would sit deeper than MaxNesting is
// replaced by its own children. It uses an explicit stack, so the walk
// costs no Go stack however deep the input nests.
func flatten(root ast.Node, depth int) {
	type frame struct {
		node  ast.Node
		depth int
	}
	stack := []frame{{root, depth}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for c := f.node.FirstChild(); c != nil; {
			if !nests(c) {
				if c.Type() == ast.TypeBlock && c.HasChildren() {
					stack = append(stack, frame{c, f.depth})
				}
				c = c.NextSibling()
				continue
			}
			if f.depth < MaxNesting {
				stack = append(stack, frame{c, f.depth + 1})
				c = c.NextSibling()
				continue
			}
			// Too deep: lift c's children to where c was and look at them next.
			first := c.FirstChild()
			for gc := c.FirstChild(); gc != nil; {
				next := gc.NextSibling()
				f.node.InsertBefore(f.node, c, gc)
				gc = next
			}
			next := c.NextSibling()
			f.node.RemoveChild(f.node, c)
			if first != nil {
				c = first
			} else {
				c = next
			}
		}
	}
}

// dropLongDestinations replaces links and images whose destination is
// too long with their text, and clears too-long titles. It returns the
// bytes of destinations and titles kept.
func dropLongDestinations(doc *ast.Document) int {
	var doomed []ast.Node
	kept := 0
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := n.(type) {
		case *ast.Link:
			l.Destination, l.Title = keepURL(n, l.Destination, l.Title, &doomed, &kept)
		case *ast.Image:
			l.Destination, l.Title = keepURL(n, l.Destination, l.Title, &doomed, &kept)
		}
		return ast.WalkContinue, nil
	})
	for _, n := range doomed {
		parent := n.Parent()
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, n, c)
			c = next
		}
		parent.RemoveChild(parent, n)
	}
	return kept
}

// keepURL applies the URL and title limits to one link or image.
func keepURL(n ast.Node, dest, title []byte, doomed *[]ast.Node, kept *int) ([]byte, []byte) {
	if len(dest) > MaxURLBytes {
		*doomed = append(*doomed, n)
		return dest, title
	}
	if len(title) > MaxTitleBytes {
		title = nil
	}
	*kept += len(dest) + len(title)
	return dest, title
}

// inlineGuard runs before goldmark's inline parsers. Emphasis and link
// closing are quadratic in goldmark when a block holds many unmatched
// delimiters ("_a*b__c**" repeated, "[a](" repeated: each closer scans
// back over every opener or forward to the end of the block). Past
// MaxInlineDelimiters runs of * _ ~ and ] in one block, it takes the run
// as literal text, so the rest of that block shows the characters as
// written instead of emphasis or links.
type inlineGuard struct{}

// inlineCountKey holds the current block's count of delimiter runs.
var inlineCountKey = parser.NewContextKey()

func (inlineGuard) Trigger() []byte { return []byte{'*', '_', '~', ']'} }

func (inlineGuard) Parse(_ ast.Node, block text.Reader, pc parser.Context) ast.Node {
	n, _ := pc.Get(inlineCountKey).(int)
	n++
	pc.Set(inlineCountKey, n)
	if n <= MaxInlineDelimiters {
		return nil // goldmark's own parsers take it
	}
	line, seg := block.PeekLine()
	run := 1
	for run < len(line) && line[run] == line[0] && line[0] != ']' {
		run++
	}
	block.Advance(run)
	return ast.NewTextSegment(seg.WithStop(seg.Start + run))
}

// CloseBlock starts the count again for the next block.
func (inlineGuard) CloseBlock(_ ast.Node, _ text.Reader, pc parser.Context) {
	pc.Set(inlineCountKey, 0)
}
