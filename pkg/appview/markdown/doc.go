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
//  1. Clip the source at MaxSourceBytes, at a line boundary
//     (Result.Truncated says so). io.atcr.repo.page allows 100 000 bytes;
//     the clip is for READMEs fetched from an io.atcr.readme URL.
//  2. Parse. Raw HTML is kept (GitHub READMEs centre logos with <p
//     align="center"><img …>) because bluemonday strips all but the
//     allow-list anyway. Two guards run inside the parser (guard.go): a
//     table whose padded cells would exceed MaxTableCells (or that is wider
//     than MaxTableColumns) stays a paragraph, since GFM pads short rows and
//     a 500 KiB table could otherwise grow to billions of cells; and, after
//     parsing, block nesting deeper than MaxNesting is flattened and link
//     and image destinations longer than MaxURLBytes (titles longer than
//     MaxTitleBytes) are dropped, since a reference definition is copied
//     into every use of it.
//  3. Render into a buffer capped at MaxRenderedBytes (ErrTooLarge past it).
//  4. Rewrite URLs (rewrite.go, an html tokenizer pass over both Markdown and
//     raw HTML): relative links and images are resolved against the bases
//     the caller gives (Bases; SourceBases derives them from an image's
//     org.opencontainers.image.source) or removed when there is none;
//     fragment links and element ids get the prefix "readme-" so a README
//     can neither clobber the page's own ids nor jump to them.
//  5. Sanitize with the policy (policy.go): no script, style, iframe,
//     object, embed, form or input other than a task list's checkbox; no
//     event handlers, style or class attributes; links only to http, https
//     and mailto, with rel="nofollow noopener noreferrer" and no target;
//     images only from https, or small base64 data: PNG, JPEG, GIF or WebP
//     (raster data cannot run script; SVG is left out); width and height
//     only as whole numbers up to MaxImageDimension.
//  6. Refuse output over MaxOutputBytes (ErrTooLarge).
//
// A plain description (OCI org.opencontainers.image.description) is never
// Markdown: RenderSource escapes it and keeps its paragraphs and line
// breaks.
//
// Images from other hosts load only where the page's Content-Security-
// Policy allows them (img-src); this package only makes the markup safe.
package markdown
