package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/oci"
)

// Media types of a completed scan's blobs (the lexicon's accept lists).
const (
	ReportMediaType = "application/vnd.atcr.vulnerabilities+json"
	SBOMMediaType   = "application/spdx+json"
)

// maxScannerVersion is the lexicon's bound on scannerVersion.
const maxScannerVersion = 64

// scanCollection is io.atcr.hold.scan.
const scanCollection = syntax.NSID(atcr.HoldScanNSID)

// Repo is the part of the hold's repository the publisher writes;
// *pds.PDS implements it (its blobs go to S3 through *s3.S3Service).
type Repo interface {
	PutRecord(ctx context.Context, coll syntax.NSID, rkey syntax.RecordKey, rec map[string]any) (syntax.ATURI, string, error)
	DeleteRecord(ctx context.Context, coll syntax.NSID, rkey syntax.RecordKey) error
	UploadBlob(ctx context.Context, mimeType string, r io.Reader, maxSize int64) (atdata.Blob, error)
}

// Publisher writes scan results as io.atcr.hold.scan records, keyed by the
// manifest digest's hex, so a rescan overwrites the record. It implements
// Records.
type Publisher struct {
	Repo Repo
	// Now is the clock of scannedAt (time.Now).
	Now func() time.Time
}

// RecordKey is the key of a manifest's scan record: the digest's hex.
func RecordKey(d oci.Digest) syntax.RecordKey { return syntax.RecordKey(d.Hex()) }

// Publish implements Records: for a completed scan it uploads the report
// and the SBOM as blobs first, then puts the validated record.
func (p *Publisher) Publish(ctx context.Context, job Job, res Result) error {
	if job.Image.Digest.IsZero() {
		return errors.New("publish scan: the job names no digest")
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	rec := &atcr.HoldScan{
		Manifest: job.Manifest, Repository: job.Repository, UserDID: job.Owner,
		Status: string(res.Status), StatusReason: truncateReason(res.Reason),
		Critical: res.Counts.Critical, High: res.Counts.High, Medium: res.Counts.Medium,
		Low: res.Counts.Low, Total: res.Counts.Total,
		ScannerVersion: scannerVersion(res.ScannerVersion),
		ScannedAt:      now().UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if res.Status == StatusCompleted {
		var err error
		if rec.VulnReportBlob, err = p.upload(ctx, ReportMediaType, res.Report); err != nil {
			return fmt.Errorf("vulnerability report of %s: %w", job.Image.Digest, err)
		}
		if rec.SbomBlob, err = p.upload(ctx, SBOMMediaType, res.SBOM); err != nil {
			return fmt.Errorf("SBOM of %s: %w", job.Image.Digest, err)
		}
	}
	m, err := atcr.ToMap(rec)
	if err != nil {
		return fmt.Errorf("scan record of %s: %w", job.Image.Digest, err)
	}
	if err := schema.ValidateRecord(atcr.HoldScanNSID, m); err != nil {
		return fmt.Errorf("scan record of %s: %w", job.Image.Digest, err)
	}
	if _, _, err := p.Repo.PutRecord(ctx, scanCollection, RecordKey(job.Image.Digest), m); err != nil {
		return fmt.Errorf("write scan record of %s: %w", job.Image.Digest, err)
	}
	return nil
}

// upload stores one document as a blob; an empty document has none.
func (p *Publisher) upload(ctx context.Context, mimeType string, doc []byte) (*atdata.Blob, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	if len(doc) > MaxDocument {
		return nil, fmt.Errorf("%d bytes is more than the record allows (%d)", len(doc), MaxDocument)
	}
	b, err := p.Repo.UploadBlob(ctx, mimeType, bytes.NewReader(doc), MaxDocument)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// Delete implements Records; a manifest without a record is no error.
func (p *Publisher) Delete(ctx context.Context, d oci.Digest) error {
	err := p.Repo.DeleteRecord(ctx, scanCollection, RecordKey(d))
	if err != nil && !errors.Is(err, pds.ErrRecordNotFound) {
		return fmt.Errorf("delete scan record of %s: %w", d, err)
	}
	return nil
}

// scannerVersion keeps the lexicon's bound and never leaves it empty.
func scannerVersion(v string) string {
	switch {
	case v == "":
		return "unknown"
	case len(v) > maxScannerVersion:
		return v[:maxScannerVersion]
	}
	return v
}
