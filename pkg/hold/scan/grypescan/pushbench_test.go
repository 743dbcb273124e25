package grypescan_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/hold/scan/scantest"
)

// The push-to-record benchmark (bench/run.sh's scan figure): against a
// running ATCR (the local stack), for each size a fresh image of a random
// layer of that many MiB plus the vulnerable apk layer is pushed with
// crane, and the time from the end of the push to the hold's
// io.atcr.hold.scan record of it is measured — queueing, reading the
// layers from S3, unpacking, cataloguing, matching and publishing the
// record and its blobs, everything a user waits for after `docker push`.
// The grype CLI (same version, a copy of the same database) scans the same
// image from an OCI layout in the same run. The hold's peak RSS (VmHWM,
// reset before each push) is read once the record exists.
//
// The test database is imported into the running hold first
// (atcr-hold scanner db import; a running hold picks it up at its next
// scan). Environment: ATCR_SCAN_PUSH_BENCH=1, ATCR_GRYPE, ATCR_CRANE,
// ATCR_HOLD_BIN, ATCR_SCAN_BENCH_HOLD_CONFIG (the hold's config file),
// ATCR_SCAN_BENCH_HOLD_URL, ATCR_SCAN_BENCH_HOLD_DID,
// ATCR_SCAN_BENCH_HOLD_PID, ATCR_SCAN_BENCH_REPO (registry/owner/repo for
// crane; crane must be logged in), ATCR_SCAN_BENCH_SIZES, _RUNS.
const pushBenchTag = "SCANPUSHBENCH"

func TestScanPushBench(t *testing.T) {
	if os.Getenv("ATCR_SCAN_PUSH_BENCH") == "" {
		t.Skip("set ATCR_SCAN_PUSH_BENCH=1 (bench/run.sh) to run the push-to-record benchmark")
	}
	need := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			t.Fatalf("%s must be set", name)
		}
		return v
	}
	grypeBin, crane, holdBin := need(benchGrypeEnv), need("ATCR_CRANE"), need("ATCR_HOLD_BIN")
	holdConfig, holdURL, holdDID := need("ATCR_SCAN_BENCH_HOLD_CONFIG"), need("ATCR_SCAN_BENCH_HOLD_URL"), need("ATCR_SCAN_BENCH_HOLD_DID")
	holdPID, repo := need("ATCR_SCAN_BENCH_HOLD_PID"), need("ATCR_SCAN_BENCH_REPO")
	sizes, runs := benchSizes(t), benchRuns()

	work := t.TempDir()
	archive := scantest.Archive(t, scantest.Built())
	if out, err := exec.Command(holdBin, "scanner", "db", "import", archive, "--config", holdConfig).CombinedOutput(); err != nil {
		t.Fatalf("import the test database into the hold: %v\n%s", err, out)
	}
	cliDB := filepath.Join(work, "grype-db")
	importDB(t, cliDB, archive)

	fmt.Printf("%s\tsize_mib\trun\tpush_s\tpush_to_record_s\thold_rss_mib\tgrype_s\tgrype_rss_mib\ttime_ratio\n", pushBenchTag)
	for _, size := range sizes {
		for run := 1; run <= runs; run++ {
			// A fresh image every run: a digest the hold has scanned
			// already would be answered from its record.
			img, layout := benchImage(t, work, fmt.Sprintf("%d-%d", size, run), size, uint64(time.Now().UnixNano()))
			resetPeak(t, holdPID)
			start := time.Now()
			ref := fmt.Sprintf("%s:%d-%d", repo, size, run)
			if out, err := exec.Command(crane, "push", "--insecure", layout, ref).CombinedOutput(); err != nil {
				t.Fatalf("crane push %s: %v\n%s", ref, err, out)
			}
			pushed := time.Now()
			rec := waitScanRecord(t, holdURL, holdDID, img.Digest.Hex(), 10*time.Minute)
			toRecord := time.Since(pushed)
			if rec.Status != "completed" || rec.High < 1 {
				t.Fatalf("scan record of %s: %+v, want completed with a high vulnerability", ref, rec)
			}
			holdRSS := peakMiB(t, holdPID)

			cliTime, cliRSS := grypeCLI(t, grypeBin, cliDB, layout)
			fmt.Printf("%s\t%d\t%d\t%.2f\t%.2f\t%.0f\t%.2f\t%.0f\t%.2f\n", pushBenchTag, size, run,
				pushed.Sub(start).Seconds(), toRecord.Seconds(), holdRSS, cliTime.Seconds(), cliRSS,
				toRecord.Seconds()/cliTime.Seconds())
			os.RemoveAll(layout)
		}
	}
}

// benchSizes reads ATCR_SCAN_BENCH_SIZES (MiB; default 50 and 500).
func benchSizes(t *testing.T) []int {
	s := os.Getenv(benchSizesEnv)
	if s == "" {
		return []int{50, 500}
	}
	var sizes []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: %v", benchSizesEnv, err)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// benchRuns reads ATCR_SCAN_BENCH_RUNS (default 1).
func benchRuns() int {
	if n, err := strconv.Atoi(os.Getenv(benchRunsEnv)); err == nil && n > 0 {
		return n
	}
	return 1
}

// scanRecord is the part of an io.atcr.hold.scan record the benchmark checks.
type scanRecord struct {
	Status string `json:"status"`
	Reason string `json:"statusReason"`
	High   int64  `json:"high"`
	Total  int64  `json:"total"`
}

// waitScanRecord polls the hold's getRecord every 50 ms until the scan
// record of the digest exists with a final status.
func waitScanRecord(t *testing.T, holdURL, holdDID, hex string, limit time.Duration) scanRecord {
	t.Helper()
	q := url.Values{"repo": {holdDID}, "collection": {"io.atcr.hold.scan"}, "rkey": {hex}}
	u := strings.TrimSuffix(holdURL, "/") + "/xrpc/com.atproto.repo.getRecord?" + q.Encode()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := client.Get(u)
		if err == nil {
			var out struct {
				Value scanRecord `json:"value"`
			}
			ok := resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&out) == nil
			resp.Body.Close()
			if ok && out.Value.Status != "" {
				return out.Value
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no scan record %s on %s within %s", hex, holdURL, limit)
	return scanRecord{}
}

// resetPeak sets the process's VmHWM back to its current RSS (Linux ≥ 4.0).
func resetPeak(t *testing.T, pid string) {
	t.Helper()
	if err := os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("cannot reset the peak RSS of pid %s (%v): the figure is its lifetime peak", pid, err)
	}
}

// peakMiB reads the process's VmHWM in MiB.
func peakMiB(t *testing.T, pid string) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatalf("hold pid %s: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	t.Fatalf("no VmHWM in /proc/%s/status", pid)
	return 0
}
