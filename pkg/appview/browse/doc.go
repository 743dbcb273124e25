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
//   - service.go: Options, New and the four questions the UI asks.
//   - resolve.go: handle or DID → verified identity → PDS endpoint.
//   - pds.go: anonymous getRecord, listRecords and getBlob, with errors
//     classified as ErrNotFound or ErrUnavailable.
//   - listing.go: one account's manifest and tag records, cached for a
//     short TTL (bounded by account count and record bytes), loaded once
//     for concurrent requests.
//   - summary.go: records → what a tag row and a manifest's details show
//     (kind, platforms, size, times, annotations, referrers).
//
// Records are user-controlled input: digests, tags and repository names are
// parsed with pkg/oci before use and records that fail are skipped; the
// pages escape every value they print. See docs/ui.md.
package browse
