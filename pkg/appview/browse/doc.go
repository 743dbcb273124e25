// Package browse is the read-only view of users' repositories behind the
// web UI's user and repository pages. Everything comes from the records in
// the account's own PDS, read anonymously (they are public): the
// io.atcr.manifest and io.atcr.tag records, listed per account, and the
// io.atcr.repo.page record of a repository. Nothing is read from a hold or a
// bucket.
//
// Where things are:
//
//   - view.go: the values the pages show (User, Repository, TagList,
//     Manifest, Summary) and the sentinel errors.
//   - service.go: Options, New and the four questions the UI asks, and
//     Locate: which hold a manifest record names (for the scan badges,
//     pkg/appview/scans, which read the hold; browse does not).
//   - resolve.go: owners and the repository page record read through
//     pkg/appview/pdsread, whose errors become ErrNotFound or
//     ErrUnavailable here.
//   - listing.go: one account's manifest and tag records
//     (pdsread.Reader.ListRepository), cached for a short TTL (bounded by
//     account count and record bytes), loaded once for concurrent
//     requests.
//   - summary.go: records → what a tag row and a manifest's details show
//     (kind, platforms, size, times, annotations, referrers).
//
// Records are user-controlled input: pdsread parses digests, tags and
// repository names with pkg/oci and skips records that fail; the pages
// escape every value they print. See docs/ui.md.
package browse
