package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// NSID is the subscription's method.
const NSID = syntax.NSID(atcr.HoldSubscribeScanJobsNSID)

// The $type of each message.
const (
	typeScanJob    = atcr.HoldSubscribeScanJobsNSID + "#scanJob"
	typeScanResult = atcr.HoldSubscribeScanJobsNSID + "#scanResult"
	typeRelease    = atcr.HoldSubscribeScanJobsNSID + "#release"
	typeInfo       = atcr.HoldSubscribeScanJobsNSID + "#info"
	typeError      = atcr.HoldSubscribeScanJobsNSID + "#error"
)

// Limits of the wire.
const (
	// maxWorkerMessage bounds a worker's JSON frames (#scanResult,
	// #release); the documents travel in binary frames of their own.
	maxWorkerMessage = 16 << 10
	// maxJobMessage bounds a #scanJob frame at the worker: 4096 layers
	// with URLs of a few KiB each fit.
	maxJobMessage = 32 << 20
	// maxLayers is the lexicon's bound on a job's layers.
	maxLayers = 4096
	// maxReason and maxScannerVersion are the bounds of io.atcr.hold.scan.
	maxReason         = 512
	maxScannerVersion = 64
	// maxURL bounds a presigned URL.
	maxURL = 8192
)

// SecretHeader carries the shared secret (the query parameter "secret"
// is the alternative, for clients that cannot set headers).
const SecretHeader = "X-Scanner-Secret"

// workerName is the grammar of the worker parameter.
var workerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidWorkerName reports whether name may name a worker.
func ValidWorkerName(name string) bool { return workerName.MatchString(name) }

// leaseName is the name a remote worker's jobs are leased under in the
// Dispatcher: prefixed, so no remote worker can act for an in-process one.
func leaseName(worker string) string { return "remote:" + worker }

// errProtocol marks a message that breaks the protocol; the connection is
// closed and its job released.
var errProtocol = errors.New("scan worker protocol error")

// protocolError is errProtocol with the #error name the hold sends.
type protocolError struct {
	name, msg string
}

func (e *protocolError) Error() string { return e.name + ": " + e.msg }
func (e *protocolError) Unwrap() error { return errProtocol }

func protoErr(name, format string, args ...any) error {
	return &protocolError{name: name, msg: fmt.Sprintf(format, args...)}
}

// encode renders body, a lexicon message struct, as a JSON object with
// $type first.
func encode(typ string, body any) ([]byte, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	if len(raw) < 2 || raw[0] != '{' {
		return nil, fmt.Errorf("encode %s: not a JSON object", typ)
	}
	head, _ := json.Marshal(typ)
	var buf bytes.Buffer
	buf.WriteString(`{"$type":`)
	buf.Write(head)
	if len(raw) > 2 {
		buf.WriteByte(',')
	}
	buf.Write(raw[1:])
	return buf.Bytes(), nil
}

// decode reads the $type of a JSON message and unmarshals it into the
// struct new(typ) returns; unknown $types are protocol errors.
func decode(data []byte, types map[string]func() any) (string, any, error) {
	var env struct {
		Type string `json:"$type"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return "", nil, protoErr("InvalidMessage", "not a JSON object with $type: %v", err)
	}
	mk, ok := types[env.Type]
	if !ok {
		return "", nil, protoErr("InvalidMessage", "unexpected message type %q", env.Type)
	}
	v := mk()
	if err := json.Unmarshal(data, v); err != nil {
		return "", nil, protoErr("InvalidMessage", "%s: %v", env.Type, err)
	}
	return env.Type, v, nil
}

// jobMessage renders a job for the wire, presigning each blob.
func jobMessage(job scan.Job, holdDID string, sign func(oci.Digest) (string, time.Time, error)) (*atcr.HoldSubscribeScanJobs_ScanJob, error) {
	blob := func(d oci.Descriptor) (atcr.HoldSubscribeScanJobs_Blob, error) {
		u, exp, err := sign(d.Digest)
		if err != nil {
			return atcr.HoldSubscribeScanJobs_Blob{}, fmt.Errorf("presign %s: %w", d.Digest, err)
		}
		return atcr.HoldSubscribeScanJobs_Blob{
			Digest: d.Digest.String(), MediaType: d.MediaType, Size: d.Size,
			URL: u, URLExpiresAt: exp.UTC().Format(time.RFC3339),
		}, nil
	}
	img := job.Image
	msg := &atcr.HoldSubscribeScanJobs_ScanJob{
		ID: job.ID, Manifest: job.Manifest, ManifestDigest: img.Digest.String(),
		MediaType: img.MediaType, ArtifactType: img.ArtifactType,
		Repository: job.Repository, UserDID: job.Owner, HoldDID: holdDID,
		Attempt: int64(max(job.Attempt, 1)), Layers: make([]atcr.HoldSubscribeScanJobs_Blob, 0, len(img.Layers)),
	}
	if !img.Config.Digest.IsZero() {
		b, err := blob(img.Config)
		if err != nil {
			return nil, err
		}
		msg.Config = &b
	}
	for _, l := range img.Layers {
		b, err := blob(l)
		if err != nil {
			return nil, err
		}
		msg.Layers = append(msg.Layers, b)
	}
	return msg, nil
}

// blobURL is where a worker reads one blob.
type blobURL struct {
	url     string
	size    int64
	expires time.Time
}

// jobFromMessage checks a #scanJob the worker received and returns the
// image to scan and where its blobs are. The worker trusts the hold it
// authenticated to, but not blindly: digests must parse, sizes must not
// be negative, URLs must be http(s).
func jobFromMessage(m *atcr.HoldSubscribeScanJobs_ScanJob) (scan.Image, map[string]blobURL, error) {
	if m.ID < 1 {
		return scan.Image{}, nil, fmt.Errorf("job id %d: must be positive", m.ID)
	}
	if len(m.Layers) > maxLayers {
		return scan.Image{}, nil, fmt.Errorf("job %d: %d layers, at most %d", m.ID, len(m.Layers), maxLayers)
	}
	dgst, err := oci.ParseDigest(m.ManifestDigest)
	if err != nil {
		return scan.Image{}, nil, fmt.Errorf("job %d: manifest digest: %w", m.ID, err)
	}
	img := scan.Image{Digest: dgst, MediaType: m.MediaType, ArtifactType: m.ArtifactType}
	urls := make(map[string]blobURL, len(m.Layers)+1)
	desc := func(b atcr.HoldSubscribeScanJobs_Blob) (oci.Descriptor, error) {
		d, err := oci.ParseDigest(b.Digest)
		if err != nil {
			return oci.Descriptor{}, fmt.Errorf("blob digest: %w", err)
		}
		if b.Size < 0 {
			return oci.Descriptor{}, fmt.Errorf("blob %s: negative size", d)
		}
		if err := checkBlobURL(b.URL); err != nil {
			return oci.Descriptor{}, fmt.Errorf("blob %s: %w", d, err)
		}
		exp, err := time.Parse(time.RFC3339, b.URLExpiresAt)
		if err != nil {
			return oci.Descriptor{}, fmt.Errorf("blob %s: urlExpiresAt: %w", d, err)
		}
		urls[d.String()] = blobURL{url: b.URL, size: b.Size, expires: exp}
		return oci.Descriptor{MediaType: b.MediaType, Digest: d, Size: b.Size}, nil
	}
	if m.Config != nil {
		if img.Config, err = desc(*m.Config); err != nil {
			return scan.Image{}, nil, fmt.Errorf("job %d: config: %w", m.ID, err)
		}
	}
	for i, l := range m.Layers {
		d, err := desc(l)
		if err != nil {
			return scan.Image{}, nil, fmt.Errorf("job %d: layer %d: %w", m.ID, i, err)
		}
		img.Layers = append(img.Layers, d)
	}
	return img, urls, nil
}

// checkBlobURL accepts absolute http(s) URLs with a host only: a worker
// must never be sent to file:// or another scheme its HTTP client (or a
// future one) might honour.
func checkBlobURL(raw string) error {
	if len(raw) > maxURL {
		return fmt.Errorf("url longer than %d bytes", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: only absolute http(s) URLs are accepted", u.Redacted())
	}
	return nil
}

// resultMessage renders a worker's result for job id.
func resultMessage(id int64, res scan.Result) *atcr.HoldSubscribeScanJobs_ScanResult {
	m := &atcr.HoldSubscribeScanJobs_ScanResult{
		ID: id, Status: string(res.Status), Reason: res.Reason,
		Critical: res.Counts.Critical, High: res.Counts.High, Medium: res.Counts.Medium,
		Low: res.Counts.Low, Total: res.Counts.Total,
		ScannerVersion: res.ScannerVersion,
		ReportSize:     int64(len(res.Report)), SbomSize: int64(len(res.SBOM)),
	}
	if !res.DBBuilt.IsZero() {
		m.DbBuilt = res.DBBuilt.UTC().Format(time.RFC3339Nano)
	}
	return m
}

// resultFromMessage checks a #scanResult against the lexicon's bounds and
// returns the Result without its documents (they follow in binary frames
// of the announced sizes).
func resultFromMessage(m *atcr.HoldSubscribeScanJobs_ScanResult) (scan.Result, error) {
	switch scan.Status(m.Status) {
	case scan.StatusCompleted, scan.StatusSkipped, scan.StatusFailed:
	default:
		return scan.Result{}, protoErr("InvalidMessage", "unknown status %q", m.Status)
	}
	for name, n := range map[string]int64{"critical": m.Critical, "high": m.High, "medium": m.Medium, "low": m.Low, "total": m.Total} {
		if n < 0 {
			return scan.Result{}, protoErr("InvalidMessage", "%s is negative", name)
		}
	}
	if m.Critical+m.High+m.Medium+m.Low > m.Total {
		return scan.Result{}, protoErr("InvalidMessage", "total %d is less than the sum of the severities", m.Total)
	}
	if len(m.Reason) > maxReason || len(m.ScannerVersion) > maxScannerVersion {
		return scan.Result{}, protoErr("InvalidMessage", "reason or scannerVersion too long")
	}
	for name, n := range map[string]int64{"reportSize": m.ReportSize, "sbomSize": m.SbomSize} {
		if n < 0 || n > scan.MaxDocument {
			return scan.Result{}, protoErr("ResultTooLarge", "%s %d outside 0..%d", name, n, scan.MaxDocument)
		}
	}
	res := scan.Result{
		Status: scan.Status(m.Status), Reason: m.Reason, ScannerVersion: m.ScannerVersion,
		Counts: scan.Counts{Critical: m.Critical, High: m.High, Medium: m.Medium, Low: m.Low, Total: m.Total},
	}
	if m.DbBuilt != "" {
		t, err := time.Parse(time.RFC3339Nano, m.DbBuilt)
		if err != nil {
			return scan.Result{}, protoErr("InvalidMessage", "dbBuilt: %v", err)
		}
		res.DBBuilt = t
	}
	return res, nil
}
