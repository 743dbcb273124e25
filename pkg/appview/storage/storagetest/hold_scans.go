package storagetest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
)

// What the fake hold serves of scanning, as atcr-hold's embedded PDS and
// scan queue do: io.atcr.hold.scan records by com.atproto.repo.getRecord
// (400 RecordNotFound when missing), their report blobs by
// com.atproto.sync.getBlob with the blob's CID (the bytes, or a 307 to a
// presigned URL of the hold's bucket), and io.atcr.hold.getScanStatus.

// rawCID builds blob CIDs as the hold's PDS does (raw codec, sha2-256).
var rawCID = cid.NewPrefixV1(cid.Raw, mh.SHA2_256)

// scanReportMime is the lexicon's accept type of vulnReportBlob.
const scanReportMime = "application/vnd.atcr.vulnerabilities+json"

// scanStatus is one getScanStatus answer.
type scanStatus struct {
	state   string
	attempt int
}

// scans is the fake hold's scan state (under Hold.mu).
type scans struct {
	records  map[string]json.RawMessage // rkey (digest hex) → record JSON
	blobs    map[string][]byte          // CID → bytes
	statuses map[string]scanStatus      // digest → job
	redirect bool                       // reports by 307 to S3
	noStatus bool                       // an older hold: no getScanStatus
}

func (h *Hold) mountScans(mux *http.ServeMux) {
	h.scans = scans{records: map[string]json.RawMessage{}, blobs: map[string][]byte{}, statuses: map[string]scanStatus{}}
	mux.HandleFunc("GET /xrpc/com.atproto.repo.getRecord", h.getRecord)
	mux.HandleFunc("GET /xrpc/io.atcr.hold.getScanStatus", h.getScanStatus)
}

// PutScan stores the scan record of manifest d and, when report is not
// nil, the report as its vulnReportBlob. It returns the record as stored.
func (h *Hold) PutScan(t testing.TB, d oci.Digest, rec atcr.HoldScan, report []byte) atcr.HoldScan {
	t.Helper()
	if report != nil {
		c, err := rawCID.Sum(report)
		if err != nil {
			t.Fatal(err)
		}
		rec.VulnReportBlob = &atdata.Blob{Ref: atdata.CIDLink(c), MimeType: scanReportMime, Size: int64(len(report))}
		if err := h.S3.PutBytes(t.Context(), scanBlobKey(c.String()), report); err != nil {
			t.Fatalf("store the report: %v", err)
		}
		h.set(func() { h.scans.blobs[c.String()] = report })
	}
	if rec.LexiconTypeID == "" {
		rec.LexiconTypeID = atcr.HoldScanNSID
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	h.PutScanJSON(d, raw)
	return rec
}

// PutScanJSON stores raw as the scan record value of d, unchecked (for
// records a broken or hostile hold would serve).
func (h *Hold) PutScanJSON(d oci.Digest, raw []byte) {
	h.set(func() { h.scans.records[d.Hex()] = raw })
}

// SetScanStatus sets what getScanStatus answers for d ("queued",
// "scanning"; "" or "none" removes the job).
func (h *Hold) SetScanStatus(d oci.Digest, state string, attempt int) {
	h.set(func() {
		if state == "" || state == "none" {
			delete(h.scans.statuses, d.String())
			return
		}
		h.scans.statuses[d.String()] = scanStatus{state: state, attempt: attempt}
	})
}

// SetScanReportRedirect makes getBlob answer report CIDs with a 307 to a
// presigned URL of the hold's bucket instead of the bytes.
func (h *Hold) SetScanReportRedirect(v bool) { h.set(func() { h.scans.redirect = v }) }

// SetNoScanStatus makes the hold one that predates getScanStatus.
func (h *Hold) SetNoScanStatus(v bool) { h.set(func() { h.scans.noStatus = v }) }

// scanBlobKey is where the fake keeps a report in its bucket.
func scanBlobKey(c string) string { return "scan-blobs/" + c }

// getRecord serves the hold's own repository: io.atcr.hold.scan records
// only (the fake keeps no others).
func (h *Hold) getRecord(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("repo") != h.DID.String() {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, "RepoNotFound", "this hold hosts only its own repository"))
		return
	}
	h.mu.Lock()
	raw, ok := h.scans.records[q.Get("rkey")]
	h.mu.Unlock()
	if !ok || q.Get("collection") != atcr.HoldScanNSID {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, "RecordNotFound", "record not found"))
		return
	}
	c, _ := rawCID.Sum(raw) // a stand-in: the fake signs no commits
	out := map[string]any{
		"uri":   "at://" + h.DID.String() + "/" + atcr.HoldScanNSID + "/" + q.Get("rkey"),
		"cid":   c.String(),
		"value": json.RawMessage(raw),
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// getScanStatus answers {"digest", "state", "attempt"?}.
func (h *Hold) getScanStatus(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	noStatus := h.scans.noStatus
	st, ok := h.scans.statuses[r.URL.Query().Get("digest")]
	h.mu.Unlock()
	if noStatus {
		xrpc.WriteError(w, xrpc.NewError(http.StatusNotFound, "MethodNotImplemented", "not implemented by this hold"))
		return
	}
	d, err := oci.ParseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		xrpc.WriteError(w, xrpc.InvalidRequest("digest: want a manifest digest"))
		return
	}
	out := map[string]any{"digest": d.String(), "state": "none"}
	if ok {
		out["state"] = st.state
		if st.attempt > 0 {
			out["attempt"] = st.attempt
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// getScanBlob serves a blob of the hold's PDS by CID: the bytes, or a
// 307 to the bucket.
func (h *Hold) getScanBlob(w http.ResponseWriter, r *http.Request, c cid.Cid) {
	h.mu.Lock()
	data, ok := h.scans.blobs[c.String()]
	redirect := h.scans.redirect
	h.mu.Unlock()
	if !ok {
		xrpc.WriteError(w, xrpc.NewError(http.StatusNotFound, atcr.ErrorBlobNotFound, "blob not found"))
		return
	}
	if redirect {
		signed, err := h.S3.PresignGet(r.Context(), scanBlobKey(c.String()), presignTTL)
		if err != nil {
			storageFailed(w, "presign the blob")
			return
		}
		http.Redirect(w, r, signed, http.StatusTemporaryRedirect)
		return
	}
	w.Header().Set("Content-Type", scanReportMime)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}
