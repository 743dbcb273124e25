package holdclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/oci"
)

// The methods the scan badges read. getScanStatus is the hold's own query
// ({"digest", "state", "attempt"?}); a hold that predates it answers 404
// or MethodNotImplemented, which reads as ScanNone.
const (
	getRecordNSID     = "com.atproto.repo.getRecord"
	getScanStatusNSID = "io.atcr.hold.getScanStatus"
)

// Bounds of the scan answers. A scan record is a few hundred bytes (its
// longest field, statusReason, is at most 512 characters); the report is
// bounded by the caller (ui.scan_report_bytes).
const (
	MaxScanRecordBytes = 64 << 10
	maxScanStatusBytes = 4 << 10
	// MaxReportCeiling is the most a caller may ask ScanReport for: the
	// lexicon's maxSize of vulnReportBlob.
	MaxReportCeiling = 64 << 20
)

// Sentinel errors of the scan reads, returned wrapped.
var (
	// ErrRecordNotFound: the hold has no scan record for the digest (it
	// was never scanned, or not yet).
	ErrRecordNotFound = errors.New("record not found")
	// ErrInvalidRecord: the hold answered with a record that is too large,
	// not JSON, or not a usable io.atcr.hold.scan.
	ErrInvalidRecord = errors.New("invalid record")
	// ErrReportTooLarge: the report blob is larger than the caller's bound.
	ErrReportTooLarge = errors.New("scan report too large")
)

// Scan states of io.atcr.hold.getScanStatus.
const (
	ScanQueued   = "queued"
	ScanScanning = "scanning"
	ScanNone     = "none"
)

// ScanStatus is a hold's answer of io.atcr.hold.getScanStatus.
type ScanStatus struct {
	Digest string `json:"digest"`
	// State is ScanQueued, ScanScanning or ScanNone (no job: never queued,
	// or finished, so the record says how it went).
	State string `json:"state"`
	// Attempt counts the tries of a job retried after a crash; 0 unknown.
	Attempt int `json:"attempt,omitempty"`
}

// ScanRecordKey is the record key of a manifest's io.atcr.hold.scan
// record: the digest's hex, without the algorithm.
func ScanRecordKey(d oci.Digest) string { return d.Hex() }

// ScanRecord reads the hold's io.atcr.hold.scan record of manifest d,
// anonymously (scan records are public). A hold without one answers
// ErrRecordNotFound; one that answers something else than a scan record of
// at most MaxScanRecordBytes, ErrInvalidRecord.
func (c *Client) ScanRecord(ctx context.Context, h Hold, d oci.Digest) (*atcr.HoldScan, error) {
	params := map[string][]string{"repo": {h.DID.String()}, "collection": {atcr.HoldScanNSID}, "rkey": {ScanRecordKey(d)}}
	body, err := c.getSmall(ctx, h, getRecordNSID, params, MaxScanRecordBytes)
	if err != nil {
		return nil, err
	}
	var out struct {
		URI   string          `json:"uri"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Value) == 0 {
		return nil, fmt.Errorf("hold %s: %s: %w: not a record answer", h.DID, getRecordNSID, ErrInvalidRecord)
	}
	// The record is checked against its lexicon first: a record missing
	// its counts or scanner (an empty {} from a broken hold) must not read
	// as "no known vulnerabilities".
	generic, err := atdata.UnmarshalJSON(out.Value)
	if err == nil {
		err = schema.ValidateRecord(atcr.HoldScanNSID, generic)
	}
	if err != nil {
		return nil, fmt.Errorf("hold %s: scan record of %s: %w: %w", h.DID, d, ErrInvalidRecord, err)
	}
	var rec atcr.HoldScan
	if err := json.Unmarshal(out.Value, &rec); err != nil {
		return nil, fmt.Errorf("hold %s: scan record of %s: %w: %w", h.DID, d, ErrInvalidRecord, err)
	}
	for _, n := range []int64{rec.Critical, rec.High, rec.Medium, rec.Low, rec.Total} {
		if n < 0 || n > maxScanCount {
			return nil, fmt.Errorf("hold %s: scan record of %s: %w: count %d out of 0..%d", h.DID, d, ErrInvalidRecord, n, maxScanCount)
		}
	}
	return &rec, nil
}

// maxScanCount bounds each count of a scan record, far above any real
// scan, so their sum cannot overflow.
const maxScanCount = 1 << 40

// ScanStatus asks the hold whether manifest d is queued or being scanned.
// A hold that does not know the method (an older hold) is ScanNone; a
// state this client does not know is ScanNone too, so the badge shows the
// record.
func (c *Client) ScanStatus(ctx context.Context, h Hold, d oci.Digest) (ScanStatus, error) {
	body, err := c.getSmall(ctx, h, getScanStatusNSID, map[string][]string{"digest": {d.String()}}, maxScanStatusBytes)
	if errors.Is(err, ErrRecordNotFound) {
		return ScanStatus{Digest: d.String(), State: ScanNone}, nil
	}
	if err != nil {
		return ScanStatus{}, err
	}
	var st ScanStatus
	if err := json.Unmarshal(body, &st); err != nil || st.Digest != d.String() {
		return ScanStatus{}, fmt.Errorf("hold %s: %s of %s: %w: answer is not this digest's status", h.DID, getScanStatusNSID, d, ErrInvalidRecord)
	}
	switch st.State {
	case ScanQueued, ScanScanning, ScanNone:
	default:
		st.State = ScanNone
	}
	st.Attempt = max(st.Attempt, 0)
	return st, nil
}

// getSmall GETs a query anonymously and returns its body of at most max
// bytes. 404 and the not-found error names are ErrRecordNotFound (and so is
// MethodNotImplemented: the hold predates the method).
func (c *Client) getSmall(ctx context.Context, h Hold, nsid string, params map[string][]string, max int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	api, err := c.api(ctx, Hold{DID: h.DID, Endpoint: h.Endpoint}, nsid, true)
	if err != nil {
		return nil, err
	}
	req := atclient.NewAPIRequest(http.MethodGet, syntax.NSID(nsid), nil)
	for k, vs := range params {
		req.QueryParams[k] = vs
	}
	resp, err := api.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("hold %s: %w: %s: %w", h.DID, registry.ErrHoldUnavailable, nsid, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, scanErr(h, nsid, decodeAPIError(resp))
	}
	safehttp.LimitBody(resp, max)
	body, err := io.ReadAll(resp.Body)
	if errors.Is(err, safehttp.ErrBodyTooLarge) {
		return nil, fmt.Errorf("hold %s: %s: %w: answer larger than %d bytes", h.DID, nsid, ErrInvalidRecord, max)
	}
	if err != nil {
		return nil, fmt.Errorf("hold %s: %w: %s: %w", h.DID, registry.ErrHoldUnavailable, nsid, err)
	}
	return body, nil
}

// scanErr classifies a failed scan read: a missing record or method is
// ErrRecordNotFound, anything else holdErr's classes.
func scanErr(h Hold, nsid string, err error) error {
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.StatusCode == http.StatusNotFound,
			apiErr.Name == "RecordNotFound", apiErr.Name == "MethodNotImplemented",
			apiErr.StatusCode == http.StatusNotImplemented:
			return fmt.Errorf("hold %s: %s: %w: %w", h.DID, nsid, ErrRecordNotFound, err)
		}
	}
	return holdErr(h, nsid, err)
}

// ScanReport opens a scan record's report blob (vulnReportBlob) of at most
// maxBytes (≤ MaxReportCeiling). The hold may answer getBlob with the bytes
// or with a redirect to a presigned URL; one redirect is followed, through
// the guarded client. Reading past maxBytes fails with ErrReportTooLarge;
// reaching the end checks the bytes against the blob's CID, so a report
// altered on the way (or in the bucket) fails instead of being shown.
func (c *Client) ScanReport(ctx context.Context, h Hold, blob *atdata.Blob, maxBytes int64) (io.ReadCloser, error) {
	if blob == nil || !blob.Ref.IsDefined() {
		return nil, fmt.Errorf("hold %s: %w: record has no report blob", h.DID, ErrInvalidRecord)
	}
	if maxBytes <= 0 || maxBytes > MaxReportCeiling {
		maxBytes = MaxReportCeiling
	}
	if blob.Size > maxBytes {
		return nil, fmt.Errorf("hold %s: report of %d bytes: %w (limit %d)", h.DID, blob.Size, ErrReportTooLarge, maxBytes)
	}
	verify, err := newCIDVerifier(blob.Ref.CID())
	if err != nil {
		return nil, fmt.Errorf("hold %s: %w: %w", h.DID, ErrInvalidRecord, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	// identity: the bound is on the bytes that arrive, so a report that
	// compresses a thousandfold cannot make 16 KiB on the wire cost the
	// parse of 16 MiB (a transport that asks for gzip itself also
	// decompresses it unbounded by the wire).
	api := &atclient.APIClient{Client: c.reports, Host: h.Endpoint, Headers: http.Header{"Accept-Encoding": {"identity"}}}
	req := atclient.NewAPIRequest(http.MethodGet, getBlobNSID, nil)
	req.QueryParams.Set("did", h.DID.String())
	req.QueryParams.Set("cid", blob.Ref.String())
	resp, err := api.Do(ctx, req)
	if err != nil {
		cancel()
		if errors.Is(err, safehttp.ErrBodyTooLarge) {
			return nil, fmt.Errorf("hold %s: %w: %w", h.DID, ErrReportTooLarge, err)
		}
		return nil, fmt.Errorf("hold %s: %w: getBlob (report): %w", h.DID, registry.ErrHoldUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		return nil, holdErr(h, getBlobNSID, decodeAPIError(resp))
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		cancel()
		resp.Body.Close()
		return nil, fmt.Errorf("hold %s: %w: report sent with Content-Encoding %q although identity was asked", h.DID, ErrInvalidRecord, enc)
	}
	if resp.ContentLength > maxBytes {
		cancel()
		resp.Body.Close()
		return nil, fmt.Errorf("hold %s: report of %d bytes: %w (limit %d)", h.DID, resp.ContentLength, ErrReportTooLarge, maxBytes)
	}
	safehttp.LimitBody(resp, maxBytes)
	verify.r = resp.Body
	return cancelOnClose{&reportBody{cidVerifier: verify, hold: h}, cancel}, nil
}

// reportBody puts the errors of reading a report in this package's terms.
type reportBody struct {
	*cidVerifier
	hold Hold
}

func (b *reportBody) Read(p []byte) (int, error) {
	n, err := b.cidVerifier.Read(p)
	switch {
	case err == nil, err == io.EOF:
		return n, err
	case errors.Is(err, safehttp.ErrBodyTooLarge):
		return n, fmt.Errorf("hold %s: %w: %w", b.hold.DID, ErrReportTooLarge, err)
	case errors.Is(err, ErrCIDMismatch):
		return n, fmt.Errorf("hold %s: %w: %w", b.hold.DID, registry.ErrHoldUnavailable, err)
	}
	return n, fmt.Errorf("hold %s: %w: reading the report: %w", b.hold.DID, registry.ErrHoldUnavailable, err)
}

// ErrCIDMismatch (with registry.ErrHoldUnavailable): the report's bytes do
// not hash to the CID its record names.
var ErrCIDMismatch = errors.New("report bytes do not match the record's CID")

// cidVerifier hashes what it reads and, at EOF, compares the sum with a
// sha2-256 CID (raw or any other codec: the blob's bytes are what is
// hashed).
type cidVerifier struct {
	r    io.ReadCloser
	h    hash.Hash
	want []byte
}

func newCIDVerifier(c cid.Cid) (*cidVerifier, error) {
	dec, err := mh.Decode(c.Hash())
	if err != nil || dec.Code != mh.SHA2_256 {
		return nil, fmt.Errorf("report blob CID %s is not sha2-256", c)
	}
	return &cidVerifier{h: sha256.New(), want: dec.Digest}, nil
}

func (v *cidVerifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF && !bytes.Equal(v.h.Sum(nil), v.want) {
		return n, ErrCIDMismatch
	}
	return n, err
}

func (v *cidVerifier) Close() error { return v.r.Close() }
