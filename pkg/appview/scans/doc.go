// Package scans is the AppView's side of vulnerability scanning: the
// badge of a manifest on the repository page and the CVE table of its
// modal, read from the io.atcr.hold.scan record the hold writes in its own
// repository and the Grype report that record references.
//
// The hold comes from the manifest record in the owner's PDS (through
// pkg/appview/browse: holdDid, else the old holdEndpoint URL), never from
// the request. Every read goes to the hold anonymously through
// pkg/appview/holdclient (scan records and reports are public): the
// record (com.atproto.repo.getRecord, ≤ 64 KiB), the job status
// (io.atcr.hold.getScanStatus; an older hold without it is "none"), and,
// only when the modal opens, the report blob (com.atproto.sync.getBlob,
// ≤ Options.MaxReportBytes, checked against its CID).
//
// Where things are:
//
//   - view.go: Badge and its States, Details and its ReportStates.
//   - service.go: Service, the caches (pkg/appview/bytecache, bounded in
//     bytes: records RecordTTL, pending answers PendingTTL, a failed hold
//     DownTTL, parsed reports by CID for ever) and the two questions.
//   - report.go: the streaming parser of Grype JSON reports (grype -o
//     json): severities validated, strings cleaned and cut, rows
//     deduplicated, sorted critical → unknown then by id, at most MaxRows
//     kept; Vuln.Link builds NVD and GitHub advisory URLs from ids that
//     match strict patterns only.
//
// A report comes from an image the pusher controls: nothing in it is
// trusted, and the pages print every string as text. See docs/ui.md.
package scans
