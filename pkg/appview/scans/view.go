package scans

import (
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/oci"
)

// State is what a badge says.
type State string

// The badge states.
const (
	// StateNotScanned: the hold has no record and no job for the manifest.
	StateNotScanned State = "not-scanned"
	// StateQueued and StateScanning: a job waits or runs; the badge polls.
	StateQueued   State = "queued"
	StateScanning State = "scanning"
	// StateSkipped: the hold does not scan this kind of manifest (a Helm
	// chart, an attestation) or cannot (no vulnerability database); Reason
	// says which.
	StateSkipped State = "skipped"
	// StateFailed: the scan failed; Reason says why.
	StateFailed State = "failed"
	// StateClean: scanned, nothing found.
	StateClean State = "clean"
	// StateVulnerable: scanned, Counts has what was found.
	StateVulnerable State = "vulnerable"
	// StateIndex: an index; its platforms have badges of their own.
	StateIndex State = "index"
	// StateUnavailable: the hold could not be asked (down, unreachable,
	// or the record names no hold).
	StateUnavailable State = "unavailable"
	// StateInvalid: the hold answered something that is not a usable scan
	// record.
	StateInvalid State = "invalid"
)

// Polling reports the states a badge re-polls in.
func (s State) Polling() bool { return s == StateQueued || s == StateScanning }

// Counts are the vulnerabilities of each severity a scan record lists.
type Counts struct {
	Critical, High, Medium, Low, Total int64
}

// Other is what Total has beyond the four named severities (negligible and
// unknown).
func (c Counts) Other() int64 { return max(c.Total-c.Critical-c.High-c.Medium-c.Low, 0) }

// Badge is one manifest's scan badge.
type Badge struct {
	Name   oci.Repository
	Digest oci.Digest
	State  State
	// Reason says why a scan was skipped or failed (from the record, cut
	// to its lexicon length), or what was unavailable.
	Reason string
	Counts Counts
	// Attempt is the try of a queued or running job (0 unknown).
	Attempt        int
	ScannedAt      time.Time
	ScannerVersion string
	// HasReport: the record carries a report blob the modal can show.
	HasReport bool
	// Platforms are an index's platform manifests (StateIndex).
	Platforms []browse.Child
}

// Query is what the modal asks for.
type Query struct {
	// Severity filters the rows ("" all).
	Severity Severity
	// Page counts from 1.
	Page int
}

// ReportState is what the modal can show.
type ReportState string

// The modal's states.
const (
	// ReportShown: Rows are the page asked for.
	ReportShown ReportState = "shown"
	// ReportNone: there is no report to show (not scanned, queued, skipped,
	// failed, or a record without a report blob); Badge says which.
	ReportNone ReportState = "none"
	// ReportTooLarge: the report is larger than the AppView shows.
	ReportTooLarge ReportState = "too-large"
	// ReportUnavailable: the hold could not be asked for it, or it did not
	// hash to its CID.
	ReportUnavailable ReportState = "unavailable"
	// ReportInvalid: the blob is not a Grype JSON report.
	ReportInvalid ReportState = "invalid"
)

// Details is the modal: the badge and one page of the report's rows.
type Details struct {
	Badge  *Badge
	State  ReportState
	Hold   syntax.DID
	Filter Severity
	// Counts are the report's rows of each severity (over all pages).
	Counts map[Severity]int
	Rows   []Vuln
	Page   int
	Pages  int
	// Matching is the number of rows the filter lets through.
	Matching int
	// Dropped counts the matches past the row bound.
	Dropped int
	// MaxBytes and MaxRows are the report bounds, for the messages.
	MaxBytes int64
	MaxRows  int
}
