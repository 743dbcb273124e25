package markdown

import "errors"

// Limits on what a README may cost. The numbers are documented in doc.go
// and docs/readme-rendering.md; the hostile-input tests measure them.
const (
	// MaxSourceBytes is where a README is clipped (256 KiB: io.atcr.repo.page
	// allows 100 000 bytes, and the hostile-input benchmarks stay near a
	// second at this size on one core).
	MaxSourceBytes = 256 << 10
	// MaxDescriptionBytes clips a plain-text description.
	MaxDescriptionBytes = 64 << 10
	// MaxNesting is the deepest block quote or list nesting kept; deeper
	// blocks are lifted into their ancestor at this depth.
	MaxNesting = 16
	// MaxInlineDelimiters bounds the runs of * _ ~ and ] in one block that
	// goldmark gets to pair up (inlineGuard); later ones are literal text.
	MaxInlineDelimiters = 200
	// MaxHTMLDepth bounds the depth of open elements in the output
	// (rewriteURLs drops start tags past it, and their end tags).
	MaxHTMLDepth = 100
	// MaxTableColumns and MaxTableCells bound a GFM table; a paragraph that
	// would make a bigger one stays text.
	MaxTableColumns = 64
	MaxTableCells   = 50_000
	// MaxURLBytes bounds a link or image destination, MaxTitleBytes its
	// title; longer ones are dropped (the text stays).
	MaxURLBytes   = 2048
	MaxTitleBytes = 512
	// MaxDataImageBytes bounds an inline data: image (base64 text).
	MaxDataImageBytes = 64 << 10
	// MaxImageDimension bounds an image's width and height attributes.
	MaxImageDimension = 2000
	// MaxRenderedBytes caps goldmark's output before sanitizing;
	// MaxOutputBytes caps the sanitized HTML.
	MaxRenderedBytes = 4 << 20
	MaxOutputBytes   = 4 << 20
)

// ErrTooLarge means the rendered README exceeded an output cap; the caller
// shows a notice (or the plain text) instead.
var ErrTooLarge = errors.New("markdown: rendered README exceeds the size limit")
