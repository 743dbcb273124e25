//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/hold/scan/scantest"
	"atcr.io/pkg/oci"
)

// scanKillLayer is the size of the random file in the kill test's big
// layer: large enough that the scan runs for seconds (the hold reads,
// hashes and unpacks it), so the test sees it running and kills it there.
const scanKillLayer = 300 << 20

// TestScanSurvivesHoldKill kills a hold (SIGKILL: no clean-up) while it
// scans an image and starts it again on the same data. The job, persisted
// in the hold's SQLite, runs again — getScanStatus shows attempt 2 — and
// ends in a completed record with the planted CVE; the killed attempt's
// unpacked files do not outlive the restart.
func TestScanSurvivesHoldKill(t *testing.T) {
	archive := env(t, "ATCR_TEST_VULNDB")
	w := newFaultWorld(t, func(c *faultHoldConfig) {
		c.VulnDB = archive
		// A crashed attempt is retried at once; the job's one worker runs it.
		c.Scanner = "scanner:\n  workers: 1\n  max_attempts: 3\n  retry_backoff: 1s\n"
	})
	hold := holdTarget{URL: w.Hold.URL, DID: w.Hold.DID, Aud: w.Hold.DID}
	repo := faultRepo("scan-kill")
	img := scanLayeredImage(t, repo, "v1",
		scantest.RandomFile("data/blob.bin", scanKillLayer, 1), scantest.VulnerableAlpine)
	d := img.Digest()
	requireSuccess(t, "push the image", w.push(t, w.tokenFor(t, repo, "pull,push"), img))

	// Poll until a worker has the job; it must not finish first.
	deadline := time.Now().Add(scanWait)
	for {
		st := scanStatus(t, hold, d)
		if st.State == "scanning" {
			t.Logf("the hold is scanning %s: %s", d, scanStatusString(st))
			break
		}
		if st.State == "none" {
			if rec := scanGetRecord(t, hold, d); rec != nil {
				t.Fatalf("the scan finished (%s) before the test saw it running: make scanKillLayer bigger", rec.Value.Status)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("getScanStatus of %s did not say scanning within %s: %s", d, scanWait, scanStatusString(st))
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.Hold.proc.kill(t)
	w.Hold.proc.start(t)

	// The hold took the job back at start: the second attempt is queued or running.
	st := scanStatus(t, hold, d)
	t.Logf("after the restart: %s", scanStatusString(st))
	if rec := scanGetRecord(t, hold, d); rec != nil {
		t.Fatalf("a scan record (%s) exists right after the restart: the kill did not interrupt the scan", rec.Value.Status)
	}
	if (st.State != "queued" && st.State != "scanning") || st.Attempt == nil || *st.Attempt < 2 {
		t.Fatalf("getScanStatus after the restart: %s, want queued or scanning, attempt 2", scanStatusString(st))
	}

	rec := scanWaitRecord(t, hold, d)
	v := rec.Value
	if v.Status != "completed" || v.High != 1 || v.Total != 1 {
		t.Fatalf("scan record after the restart: status %q (%q), high %d, total %d; want completed with one high",
			v.Status, v.StatusReason, v.High, v.Total)
	}
	scanVerifyInRepo(t, hold, d, rec)
	found := false
	for _, m := range scanReportMatches(t, scanFetchBlob(t, hold, v.VulnReportBlob)) {
		found = found || m.Vulnerability.ID == scantest.VulnID
	}
	if !found {
		t.Errorf("the report of the rerun scan has no match of %s", scantest.VulnID)
	}
	if st := scanStatus(t, hold, d); st.State != "none" {
		t.Errorf("getScanStatus once the record is there: %s, want none", scanStatusString(st))
	}

	// Every attempt's files are gone: the finished one's, and the killed one's.
	tmp := w.Hold.DataDir + "/scan-tmp"
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatalf("read the hold's scan temp directory: %v", err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if len(left) != 0 {
		t.Errorf("%s still holds %s after the job finished", tmp, strings.Join(left, ", "))
	}
}

// scanLayeredImage is an image of the fault world's repository whose
// layers are uncompressed tars written by the given writers.
func scanLayeredImage(t *testing.T, repo, tag string, layers ...func(io.Writer) error) faultImage {
	t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","note":"` + repo + `"}`)
	img := faultImage{Repo: repo, Tag: tag, Blobs: [][]byte{cfg}}
	descs := make([]string, 0, len(layers))
	for i, write := range layers {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		img.Blobs = append(img.Blobs, buf.Bytes())
		descs = append(descs, fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d}`,
			oci.MediaTypeOCILayer, oci.FromBytes(oci.SHA256, buf.Bytes()), buf.Len()))
	}
	img.Manifest = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[%s]}`,
		oci.MediaTypeOCIManifest, oci.MediaTypeOCIConfig, oci.FromBytes(oci.SHA256, cfg), len(cfg), strings.Join(descs, ",")))
	return img
}
