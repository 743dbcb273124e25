package scan

import (
	"context"
	"io"
	"time"

	"atcr.io/pkg/oci"
)

// Image is what a worker scans: the descriptors of one image manifest, as
// the owner's io.atcr.manifest record names them (the hold never trusts a
// caller's description of an image).
type Image struct {
	// Digest is the manifest's digest.
	Digest oci.Digest
	// MediaType and ArtifactType are the manifest's; a Scanner refuses
	// what is not a container image (Helm charts, attestations, signatures,
	// other artifacts) with StatusSkipped and the reason.
	MediaType    string
	ArtifactType string
	// Config is the image config blob's descriptor.
	Config oci.Descriptor
	// Layers are the layer descriptors, bottom first.
	Layers []oci.Descriptor
}

// Blobs gives a worker the bytes of an image's blobs: the hold's S3 for
// the in-process worker, the hold's getBlob (a presigned URL) for a remote
// one. Open streams; the Scanner checks every blob it reads against its
// digest and size.
type Blobs interface {
	Open(ctx context.Context, d oci.Digest) (io.ReadCloser, error)
}

// Status is the outcome of a scan, as io.atcr.hold.scan records it.
type Status string

// The statuses of the lexicon's knownValues.
const (
	StatusCompleted Status = "completed"
	StatusSkipped   Status = "skipped"
	StatusFailed    Status = "failed"
)

// Counts are the vulnerabilities found, by severity; Total counts every
// severity (negligible and unknown too).
type Counts struct {
	Critical, High, Medium, Low, Total int64
}

// Result is a finished scan.
type Result struct {
	Status Status
	// Reason says why a scan was skipped or failed, for people (at most
	// 512 characters, the lexicon's bound).
	Reason string
	Counts Counts
	// Report is the Grype JSON report and SBOM the SPDX JSON document of a
	// completed scan; each is at most MaxDocument bytes.
	Report, SBOM []byte
	// ScannerVersion names the scanner and its database, e.g.
	// "grype-v0.121.2 db-2026-12-01T00:00:00Z" (at most 64 characters).
	ScannerVersion string
	// DBBuilt is when the vulnerability database was built (zero without
	// one).
	DBBuilt time.Time
}

// MaxDocument bounds a report or SBOM: the lexicon's maxSize of
// vulnReportBlob and sbomBlob.
const MaxDocument = 64 << 20

// Scanner scans images. Scan returns a Result for every outcome it can
// name — a skipped artifact, a hostile or broken image (StatusFailed with
// the reason), no vulnerability database (StatusSkipped) — and an error
// only when the job should be tried again later (ctx ended, storage
// unreachable).
type Scanner interface {
	Scan(ctx context.Context, img Image, blobs Blobs) (Result, error)
}
