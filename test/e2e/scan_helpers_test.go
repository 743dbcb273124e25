//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/chromedp/chromedp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/scan/scantest"
	"atcr.io/pkg/oci"
)

// The scan tests' helpers carry a scan prefix. A hold publishes a scan as
// the io.atcr.hold.scan record keyed by the manifest digest's hex; while the
// job waits or runs, io.atcr.hold.getScanStatus says so.

// scanWait bounds the wait for a scan record: the scan itself takes
// seconds; the rest is the queue's slack on a loaded two-core machine.
const scanWait = 3 * time.Minute

// scanMaxDocument bounds a report or SBOM download (the lexicon's maxSize).
const scanMaxDocument = 64 << 20

// scanRecord is getRecord's answer for a scan record.
type scanRecord struct {
	URI   string        `json:"uri"`
	CID   string        `json:"cid"`
	Value atcr.HoldScan `json:"value"`
}

// scanGetRecord reads digest d's scan record from the hold's repository
// (com.atproto.repo.getRecord, anonymously); nil while there is none.
func scanGetRecord(t *testing.T, hold holdTarget, d oci.Digest) *scanRecord {
	t.Helper()
	q := url.Values{"repo": {hold.DID}, "collection": {atcr.HoldScanNSID}, "rkey": {d.Hex()}}
	r := holdDo(t, http.MethodGet, hold.xrpcURL("com.atproto.repo.getRecord", q), "", nil)
	if r.errorName() == "RecordNotFound" {
		return nil
	}
	var rec scanRecord
	r.decode(t, "getRecord "+atcr.HoldScanNSID+"/"+d.Hex(), &rec)
	return &rec
}

// scanStatus asks the hold where the scan of d is (getScanStatus).
func scanStatus(t *testing.T, hold holdTarget, d oci.Digest) atcr.HoldGetScanStatus_Output {
	t.Helper()
	var out atcr.HoldGetScanStatus_Output
	holdDo(t, http.MethodGet, hold.xrpcURL(atcr.HoldGetScanStatusNSID, url.Values{"digest": {d.String()}}), "", nil).
		decode(t, "getScanStatus "+d.String(), &out)
	return out
}

// String shows a scan status as "scanning (attempt 2)".
func scanStatusString(s atcr.HoldGetScanStatus_Output) string {
	if s.Attempt != nil {
		return fmt.Sprintf("%s (attempt %d)", s.State, *s.Attempt)
	}
	return s.State
}

// scanWaitRecord polls until the hold has published d's scan record and
// returns it; it fails after scanWait, naming the last status.
func scanWaitRecord(t *testing.T, hold holdTarget, d oci.Digest) *scanRecord {
	t.Helper()
	deadline := time.Now().Add(scanWait)
	for {
		if rec := scanGetRecord(t, hold, d); rec != nil {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s record of %s on %s within %s; getScanStatus says %s", atcr.HoldScanNSID, d, hold.DID,
				scanWait, scanStatusString(scanStatus(t, hold, d)))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// scanVerifyInRepo checks rec against the hold's signed repository: the
// getRepo CAR (block hashes, MST, commit signature against the hold's
// #atproto key from its DID document) holds the record under its key with
// the CID getRecord named, and the bytes say what getRecord said.
func scanVerifyInRepo(t *testing.T, hold holdTarget, d oci.Digest, rec *scanRecord) {
	t.Helper()
	ctx := testContext(t)
	carBytes := holdGetRepo(t, hold)
	holdCheckBlockHashes(t, carBytes)
	if _, err := repo.VerifyCommitSignatureFromCar(ctx, directory(t), carBytes); err != nil {
		t.Fatalf("the hold's repository does not verify against its key: %v", err)
	}
	_, r, err := repo.LoadRepoFromCAR(ctx, bytes.NewReader(carBytes))
	if err != nil {
		t.Fatalf("LoadRepoFromCAR: %v", err)
	}
	if err := r.MST.Verify(); err != nil {
		t.Fatalf("MST.Verify: %v", err)
	}
	raw, c, err := r.GetRecordBytes(ctx, syntax.NSID(atcr.HoldScanNSID), syntax.RecordKey(d.Hex()))
	if err != nil {
		t.Fatalf("scan record %s/%s is not in the signed repository: %v", atcr.HoldScanNSID, d.Hex(), err)
	}
	if c.String() != rec.CID {
		t.Fatalf("the repository's scan record has CID %s, getRecord said %s", c, rec.CID)
	}
	fields, err := atdata.UnmarshalCBOR(raw)
	if err != nil {
		t.Fatalf("decode the scan record's CBOR: %v", err)
	}
	for name, want := range map[string]any{
		"$type": atcr.HoldScanNSID, "manifest": rec.Value.Manifest, "status": rec.Value.Status,
		"statusReason": rec.Value.StatusReason, "scannerVersion": rec.Value.ScannerVersion,
		"critical": rec.Value.Critical, "high": rec.Value.High, "medium": rec.Value.Medium,
		"low": rec.Value.Low, "total": rec.Value.Total,
	} {
		got, ok := fields[name]
		if !ok && want == "" {
			continue // an empty optional string is left out
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("signed record's %s = %v, getRecord said %v", name, got, want)
		}
	}
}

// scanFetchBlob downloads one of the hold's PDS blobs (getBlob,
// anonymously, redirects followed) and checks it against its reference:
// media type, size and the CID's hash.
func scanFetchBlob(t *testing.T, hold holdTarget, b *atdata.Blob) []byte {
	t.Helper()
	if b == nil {
		t.Fatal("the record names no blob")
	}
	q := url.Values{"did": {hold.DID}, "cid": {b.Ref.String()}}
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, hold.xrpcURL("com.atproto.sync.getBlob", q), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := holdHTTP.Do(req)
	if err != nil {
		t.Fatalf("getBlob %s: %v", b.Ref, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, scanMaxDocument+1))
	if err != nil {
		t.Fatalf("read blob %s: %v", b.Ref, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("getBlob %s: %d %.300s", b.Ref, resp.StatusCode, body)
	}
	if int64(len(body)) != b.Size {
		t.Fatalf("blob %s: %d bytes, the record says %d", b.Ref, len(body), b.Size)
	}
	if ct := resp.Header.Get("Content-Type"); ct != b.MimeType {
		t.Errorf("blob %s served as %q, the record says %q", b.Ref, ct, b.MimeType)
	}
	sum, err := cid.NewPrefixV1(b.Ref.CID().Prefix().Codec, multihash.SHA2_256).Sum(body)
	if err != nil || !sum.Equals(b.Ref.CID()) {
		t.Fatalf("blob %s hashes to %s (%v)", b.Ref, sum, err)
	}
	return body
}

// scanVulnerableImage is a linux/amd64 OCI image whose one layer is
// scantest's Alpine 3.17 with bind 9.18.0-r0 installed (the stack's test
// database reports scantest.VulnID for it). Its config carries a label
// naming the repository, so each run pushes a new image: the hold keeps
// one scan record per digest.
func scanVulnerableImage(t *testing.T, repository string) v1.Image {
	t.Helper()
	var tarBytes bytes.Buffer
	if err := scantest.VulnerableAlpine(&tarBytes); err != nil {
		t.Fatal(err)
	}
	alpine, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(regImage(t, "amd64"), alpine)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Labels = map[string]string{"io.atcr.e2e.repository": repository}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// scanAccount is the account the scan tests push as: bob (see scan_test.go).
func scanAccount(t *testing.T) regAccount { return regBob(t) }

// scanManifestURI is the AT-URI of acct's io.atcr.manifest record of d in
// repository path (below the account), from its PDS.
func scanManifestURI(t *testing.T, acct regAccount, path string, d oci.Digest) (uri, holdDID string) {
	t.Helper()
	for _, r := range regRecordsOf(regRecords(t, acct.DID, atcr.ManifestNSID), path) {
		if r.Value["digest"] == d.String() {
			return r.URI, fmt.Sprint(r.Value["holdDid"])
		}
	}
	t.Fatalf("no %s record of %s in %s's PDS", atcr.ManifestNSID, d, acct.Handle)
	return "", ""
}

// scanDigest resolves ref to its manifest digest with crane.
func scanDigest(t *testing.T, tools *regTools, ref string) oci.Digest {
	t.Helper()
	d, err := oci.ParseDigest(strings.TrimSpace(tools.run(t, "crane", "digest", ref)))
	if err != nil {
		t.Fatalf("crane digest %s: %v", ref, err)
	}
	return d
}

// shoot saves a screenshot of the whole page as var/e2e/screenshots/name
// and prints its path, in the test log and on stdout (make e2e's output).
func (b *browser) shoot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join(env(b.t, "ATCR_STACK_DIR"), "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	fmt.Printf("screenshot: %s\n", path)
	return path
}

// openRepoTag opens the repository page at pageURL and scrolls tag's row
// into view, as a reader scrolling down the page does: the badges load
// when they are revealed (HTMX "revealed"), which a row below the window's
// fold is not. The AppView lists an account's records anew after
// browse.DefaultListTTL (15 s), so a page opened right after a push may not
// have the tag yet: like a reader, the test reloads until it does.
func (b *browser) openRepoTag(pageURL, tag string) {
	b.t.Helper()
	row := fmt.Sprintf(`li.tag[data-tag=%q]`, tag)
	probe := fmt.Sprintf(`(() => { const t = document.querySelector("#tags");
		if (document.querySelector(%q)) return "row";
		return t && t.querySelector(".error, #no-tags, #tag-list") ? "loaded" : "" })()`, row)
	deadline := time.Now().Add(stepTimeout)
	for {
		b.step("open "+pageURL, chromedp.Navigate(pageURL))
		got := ""
		for settle := time.Now().Add(10 * time.Second); got == "" && time.Now().Before(settle); {
			if got = b.eval(probe); got == "" {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if got == "row" {
			break
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the repository page %s has no tag %s after %s:\n%s", pageURL, tag, stepTimeout,
				b.eval(`document.querySelector("main") ? document.querySelector("main").innerText : ""`))
		}
		time.Sleep(time.Second)
	}
	b.step("scroll to the tag "+tag, chromedp.ScrollIntoView(chromedp.CSS(row+" .vuln")))
}

// waitVisible polls until sel is on the page and visible, within
// stepTimeout; on failure it shows what the page has under within instead.
func (b *browser) waitVisible(sel, within string) {
	b.t.Helper()
	probe := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && e.offsetParent !== null ? "yes" : "" })()`, sel)
	deadline := time.Now().Add(stepTimeout)
	for b.eval(probe) != "yes" {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s did not show within %s (at %s); %s holds:\n%s", sel, stepTimeout, b.location(), within,
				b.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.outerHTML.slice(0, 6000) : "nothing" })()`, within)))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scanGrypeMatch is what the tests read of a Grype JSON report's match.
type scanGrypeMatch struct {
	Vulnerability struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
	} `json:"vulnerability"`
	Artifact struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"artifact"`
}

// scanReportMatches decodes a Grype JSON report's matches.
func scanReportMatches(t *testing.T, report []byte) []scanGrypeMatch {
	t.Helper()
	var doc struct {
		Matches []scanGrypeMatch `json:"matches"`
	}
	if err := json.Unmarshal(report, &doc); err != nil {
		t.Fatalf("the report is not Grype JSON: %v\n%.500s", err, report)
	}
	return doc.Matches
}
