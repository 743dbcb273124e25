// Package markdown turns README text into HTML that is safe to put in a
// page: Markdown with goldmark (CommonMark plus the GitHub extensions:
// tables, strikethrough, autolinks, task lists, heading IDs), then every
// URL resolved or dropped, then bluemonday with this package's own
// allow-list (policy.go) as the last gate. It also picks which text is a
// repository's README (source.go), in the original ATCR's order.
//
// Pipeline (render.go), each step bounded because READMEs come from
// anyone's PDS or image:
//
//  1. Clip the source at MaxSourceBytes (256 KiB), at a line boundary
//     (Result.Truncated says so). io.atcr.repo.page allows 100 000 bytes;
//     the clip is for READMEs fetched from an io.atcr.readme URL. Escape
//     container markers past MaxNesting at the start of a line (nesting.go):
//     goldmark's cost grows with the square of the nesting one line opens.
//  2. Parse. Raw HTML is kept (GitHub READMEs centre logos with <p
//     align="center"><img …>) because the policy strips all but its
//     allow-list anyway. Guards inside the parser (guard.go): a table whose
//     padded cells would exceed MaxTableCells (or wider than
//     MaxTableColumns) stays a paragraph, since GFM pads short rows; past
//     MaxInlineDelimiters runs of * _ ~ ] in one block the rest are literal
//     text, since goldmark pairs unmatched delimiters in quadratic time;
//     after parsing, block nesting deeper than MaxNesting is flattened, and
//     link and image destinations longer than MaxURLBytes (titles longer
//     than MaxTitleBytes) are dropped, since a reference definition is
//     copied into every use of it; if the kept URLs alone would pass
//     MaxRenderedBytes the render is refused (ErrTooLarge).
//  3. Render into a buffer capped at MaxRenderedBytes (ErrTooLarge past it).
//  4. Rewrite (rewrite.go, an html tokenizer pass over Markdown and raw
//     HTML alike): relative links and images are resolved against the
//     bases the caller gives (Bases; SourceBases derives them from an
//     image's org.opencontainers.image.source) or removed when there is
//     none; fragment links and element ids get the prefix "readme-" so a
//     README can neither clobber the page's own ids nor jump to them; every
//     link gets rel="nofollow noopener noreferrer"; img src keeps only https
//     and data:, links lose data:; start tags past MaxHTMLDepth open
//     elements are dropped with their end tags.
//  5. Sanitize with the policy (policy.go), the security boundary: no
//     script, style, iframe, object, embed, form or input other than a task
//     list's checkbox, no svg or math; no event handlers, style or class
//     attributes; links only to http, https and mailto (and #readme-…),
//     with that rel and no target (so a README opens no window that keeps
//     a handle on this page); images only from https, or base64 data: PNG,
//     JPEG, GIF or WebP up to MaxDataImageBytes (raster data cannot run
//     script and is how READMEs inline tiny badges; SVG is left out);
//     width and height only as whole numbers from 1 to MaxImageDimension.
//  6. Refuse output over MaxOutputBytes (ErrTooLarge).
//
// Render time: a typical 20 KiB README takes about 3.5 ms on this
// project's 2-core machine under load (BenchmarkTypicalReadme); the
// hostile inputs of limits_test.go, each filling the 256 KiB clip, take at
// most about a second (BenchmarkHostile). Callers should cache the result
// by the record's CID or the manifest digest.
//
// A plain description (OCI org.opencontainers.image.description) is never
// Markdown: RenderSource escapes it and keeps its paragraphs and line
// breaks.
//
// Images from other hosts load only where the page's Content-Security-
// Policy allows them (img-src); this package only makes the markup safe.
package markdown
