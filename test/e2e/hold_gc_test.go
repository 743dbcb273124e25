//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// holdLayerMediaType is the media type the GC test's layer is announced with.
const holdLayerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip"

// GC on the private hold (grace window ATCR_PRIVATE_HOLD_GC_GRACE, collection
// on SIGUSR2) deletes only true orphans. Before the window has passed:
//   - orphan: uploaded and completed, never announced;
//   - referenced: uploaded, completed and announced with notifyManifest for a
//     real io.atcr.manifest record in alice's PDS (the hold writes a layer record);
//   - in flight: a multipart upload with its parts sent but not completed.
//
// After the window, a young blob is completed, then GC is triggered. Once the
// hold logs "GC finished": the orphan is gone, the referenced and the young
// blob are still there, and the in-flight upload still completes.
func TestHoldGCSweepsOnlyOrphans(t *testing.T) {
	t.Parallel()
	priv := holdPrivate(t)
	alice := holdAlice(t)
	grace, err := time.ParseDuration(env(t, "ATCR_PRIVATE_HOLD_GC_GRACE"))
	if err != nil {
		t.Fatalf("ATCR_PRIVATE_HOLD_GC_GRACE: %v", err)
	}

	orphan := priv.pushBlob(t, alice, holdRandom(t, 256<<10))
	layer := holdRandom(t, 512<<10)
	referenced := priv.pushBlob(t, alice, layer)
	holdNotifyLayer(t, priv, alice, referenced, int64(len(layer)))

	inflightParts := [][]byte{holdRandom(t, 5<<20), holdRandom(t, 1<<20)}
	inflight := priv.initiate(t, alice, "")
	hasher := oci.SHA256.New()
	var inflightSize int64
	for i, p := range inflightParts {
		inflight.putPart(t, int64(i+1), p)
		hasher.Write(p)
		inflightSize += int64(len(p))
	}
	inflightDigest := oci.FromHash(oci.SHA256, hasher)

	// A writer's HEAD is a push finding the blob (docs/hold.md, "Garbage
	// collection"): it makes the blob young again, so these checks come
	// before the window starts.
	for name, d := range map[string]oci.Digest{"orphan": orphan, "referenced": referenced} {
		holdRequireStatus(t, name+" blob before GC", priv.headBlob(t, &alice, d), http.StatusOK, "")
	}
	// Storage times have whole-second precision; the margin keeps every blob
	// above clearly older than the window when GC computes its cutoff.
	time.Sleep(grace + 2*time.Second)
	young := priv.pushBlob(t, alice, holdRandom(t, 128<<10))
	holdRequireStatus(t, "young blob before GC", priv.headBlob(t, &alice, young), http.StatusOK, "")
	runsBefore := len(holdGCReports(t))
	holdSignalGC(t)
	report := holdWaitGCReport(t, runsBefore, 30*time.Second)
	t.Logf("GC report: %+v", report)
	if report.Deleted < 1 || report.Referenced < 1 || report.KeptInGrace < 1 || report.Failed != 0 {
		t.Errorf("GC report %+v: want at least one deleted, one referenced, one kept in grace, none failed", report)
	}

	holdRequireStatus(t, "orphan after GC", priv.headBlob(t, &alice, orphan), http.StatusNotFound, "")
	holdRequireStatus(t, "referenced blob after GC", priv.headBlob(t, &alice, referenced), http.StatusOK, "")
	holdRequireStatus(t, "young blob after GC", priv.headBlob(t, &alice, young), http.StatusOK, "")
	inflight.completeOK(t, inflightDigest, inflightSize)
	holdRequireStatus(t, "in-flight blob completed after GC", priv.headBlob(t, &alice, inflightDigest), http.StatusOK, "")
}

// holdNotifyLayer announces a manifest with one layer to the hold, as the
// AppView does after writing the manifest record to the user's PDS.
func holdNotifyLayer(t *testing.T, hold holdTarget, u holdUser, layer oci.Digest, size int64) {
	t.Helper()
	const repository = "e2e-hold-gc"
	manifestURI := holdCreateManifestRecord(t, u, repository, hold.DID,
		atcr.Manifest_BlobReference{Digest: layer.String(), Size: size, MediaType: holdLayerMediaType})
	var out atcr.HoldNotifyManifest_Output
	hold.call(t, &u, http.MethodPost, atcr.HoldNotifyManifestNSID, nil, atcr.HoldNotifyManifest_Input{
		Repository:     repository,
		ManifestDigest: holdManifestDigest(repository, layer.String()),
		ManifestURI:    manifestURI,
		MediaType:      "application/vnd.oci.image.manifest.v1+json",
		Layers:         []atcr.HoldNotifyManifest_Descriptor{{Digest: layer.String(), Size: size, MediaType: holdLayerMediaType}},
	}).decode(t, "notifyManifest", &out)
	if out.LayersRecorded != 1 {
		t.Fatalf("notifyManifest recorded %d layers, want 1", out.LayersRecorded)
	}
}

// holdSignalGC sends SIGUSR2 to the private hold. Its PID is the one the
// running hold wrote into <data_dir>/hold.lock (docs/hold.md). The lock must
// be held (a hold that exited leaves a stale PID behind) and the PID must run
// `atcr-hold serve`, so no other process is ever signalled.
func holdSignalGC(t *testing.T) {
	t.Helper()
	lock := filepath.Join(env(t, "ATCR_PRIVATE_HOLD_DATA_DIR"), "hold.lock")
	f, err := os.Open(lock)
	if err != nil {
		t.Fatalf("open %s: %v", lock, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		if err == nil {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		}
		t.Fatalf("%s is not locked (%v): the private hold is not running", lock, err)
	}
	raw, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		t.Fatalf("read %s: %v", lock, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 1 {
		t.Fatalf("%s holds %q, not a PID", lock, raw)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatalf("pid %d from %s: %v", pid, lock, err)
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) < 2 || !strings.Contains(filepath.Base(args[0]), "hold") || args[1] != "serve" {
		t.Fatalf("pid %d from %s runs %q, not atcr-hold serve", pid, lock, args)
	}
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil {
		t.Fatalf("SIGUSR2 to the private hold (pid %d): %v", pid, err)
	}
}

// holdGCReport is the "GC finished" log line of one collection.
type holdGCReport struct {
	Scanned     int `json:"scanned"`
	Referenced  int `json:"referenced"`
	Orphans     int `json:"orphans"`
	KeptInGrace int `json:"kept_in_grace"`
	Deleted     int `json:"deleted"`
	Failed      int `json:"failed"`
}

// holdGCReports reads every "GC finished" line from the private hold's log
// (JSON lines: e2e.sh sets log.format json for it).
func holdGCReports(t *testing.T) []holdGCReport {
	t.Helper()
	f, err := os.Open(env(t, "ATCR_PRIVATE_HOLD_LOG"))
	if err != nil {
		t.Fatalf("open the private hold's log: %v", err)
	}
	defer f.Close()
	var out []holdGCReport
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
			holdGCReport
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "GC finished" {
			out = append(out, line.holdGCReport)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read the private hold's log: %v", err)
	}
	return out
}

// holdWaitGCReport polls the log until a collection after the first `before`
// ones has finished, and returns its report.
func holdWaitGCReport(t *testing.T, before int, timeout time.Duration) holdGCReport {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if reports := holdGCReports(t); len(reports) > before {
			return reports[before]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no \"GC finished\" in %s within %s of SIGUSR2", env(t, "ATCR_PRIVATE_HOLD_LOG"), timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
