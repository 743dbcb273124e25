package grypescan_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/hold/scan/grypescan"
	"atcr.io/pkg/hold/scan/scantest"
	"atcr.io/pkg/hold/scan/vulndb"
	"atcr.io/pkg/oci"
)

// The scan benchmark (bench/scan.sh): for each size, an image of a random
// (incompressible) layer of that many MiB plus the vulnerable apk layer is
// scanned by this engine and by the grype CLI (same version, a copy of the
// same database) from an OCI layout; each runs as its own process, so wall
// time and peak RSS (getrusage maxrss) are the process's own.
//
//	ATCR_SCAN_BENCH=1 ATCR_GRYPE=bin/tools/grype ATCR_SCAN_BENCH_SIZES="50 500" \
//	  go test ./pkg/hold/scan/grypescan -run '^TestScanBench$' -v -count=1 -timeout 60m
const (
	benchEnv       = "ATCR_SCAN_BENCH"
	benchChildEnv  = "ATCR_SCAN_BENCH_CHILD" // layout|db dir|temp dir
	benchGrypeEnv  = "ATCR_GRYPE"
	benchSizesEnv  = "ATCR_SCAN_BENCH_SIZES"
	benchRunsEnv   = "ATCR_SCAN_BENCH_RUNS"
	benchResultTag = "SCANBENCH"
)

func TestScanBench(t *testing.T) {
	if os.Getenv(benchEnv) == "" {
		t.Skip("set " + benchEnv + "=1 (bench/scan.sh) to run the scan benchmark")
	}
	grypeBin := os.Getenv(benchGrypeEnv)
	if grypeBin == "" {
		t.Fatal(benchGrypeEnv + " must name the grype CLI binary")
	}
	sizes, runs := benchSizes(t), benchRuns()
	work := t.TempDir()
	archive := scantest.Archive(t, scantest.Built())
	// The engine's database and the CLI's: two imports of one archive.
	engineDB, cliDB := filepath.Join(work, "engine-db"), filepath.Join(work, "grype-db")
	importDB(t, engineDB, archive)
	importDB(t, cliDB, archive)

	fmt.Printf("%s\tsize_mib\trun\tengine_s\tengine_rss_mib\tgrype_s\tgrype_rss_mib\ttime_ratio\n", benchResultTag)
	for _, size := range sizes {
		_, layout := benchImage(t, work, fmt.Sprint(size), size, uint64(size))
		for run := 1; run <= runs; run++ {
			tmp := filepath.Join(work, "scan-tmp")
			child := exec.Command(os.Args[0], "-test.run=^$")
			child.Env = append(os.Environ(), benchChildEnv+"="+layout+"|"+engineDB+"|"+tmp)
			engineOut, engineTime, engineRSS := measure(t, child)
			if !strings.Contains(engineOut, "status=completed") || !strings.Contains(engineOut, "high=1") {
				t.Fatalf("engine scan of %d MiB: %s", size, engineOut)
			}

			cliTime, cliRSS := grypeCLI(t, grypeBin, cliDB, layout)
			fmt.Printf("%s\t%d\t%d\t%.2f\t%.0f\t%.2f\t%.0f\t%.2f\n", benchResultTag, size, run,
				engineTime.Seconds(), engineRSS, cliTime.Seconds(), cliRSS, engineTime.Seconds()/cliTime.Seconds())
		}
	}
}

// importDB imports the database archive into dir, as a hold would.
func importDB(t *testing.T, dir, archive string) {
	t.Helper()
	db, err := vulndb.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Import(context.Background(), archive); err != nil {
		t.Fatal(err)
	}
}

// benchImage writes the benchmark's image — a layer of sizeMiB random
// bytes (from seed) and the vulnerable apk layer — as blobs and as an OCI
// layout under work, both named by name.
func benchImage(t *testing.T, work, name string, sizeMiB int, seed uint64) (scan.Image, string) {
	t.Helper()
	blobs, err := scantest.NewBlobs(filepath.Join(work, "blobs-"+name))
	if err != nil {
		t.Fatal(err)
	}
	random, err := blobs.PutLayer(scantest.RandomFile("data/random.bin", int64(sizeMiB)<<20, seed))
	if err != nil {
		t.Fatal(err)
	}
	vuln, err := blobs.PutLayer(scantest.VulnerableAlpine)
	if err != nil {
		t.Fatal(err)
	}
	img, err := blobs.Image(random, vuln)
	if err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(work, "layout-"+name)
	if err := blobs.WriteLayout(layout, img); err != nil {
		t.Fatal(err)
	}
	return img, layout
}

// grypeCLI scans the layout with the grype CLI on the database in dbDir
// (no update, no age check) and returns its wall time and peak RSS (MiB);
// it must find the planted vulnerability.
func grypeCLI(t *testing.T, grypeBin, dbDir, layout string) (time.Duration, float64) {
	t.Helper()
	// The CLI must not see the hold's reader links (vulndb keeps them there).
	os.RemoveAll(filepath.Join(dbDir, "readers"))
	cli := exec.Command(grypeBin, "oci-dir:"+layout, "-o", "json")
	cli.Env = append(os.Environ(), "GRYPE_DB_CACHE_DIR="+dbDir, "GRYPE_DB_AUTO_UPDATE=false",
		"GRYPE_DB_VALIDATE_AGE=false", "GRYPE_CHECK_FOR_APP_UPDATE=false")
	out, took, rss := measure(t, cli)
	if !strings.Contains(out, scantest.VulnID) {
		t.Fatalf("grype CLI on %s found no %s: %.500s", layout, scantest.VulnID, out)
	}
	return took, rss
}

// measure runs cmd and returns its stdout, wall time and peak RSS in MiB.
func measure(t *testing.T, cmd *exec.Cmd) (string, time.Duration, float64) {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd.Path, err, stderr.String())
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss float64
	if ru != nil {
		rss = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	return string(out), took, rss
}

// benchChild scans the image of an OCI layout with the engine and prints
// the outcome: the engine side of TestScanBench, in a process of its own.
func benchChild() int {
	parts := strings.Split(os.Getenv(benchChildEnv), "|")
	if len(parts) != 3 {
		fmt.Fprintln(os.Stderr, "bad", benchChildEnv)
		return 2
	}
	layout, dbDir, tmp := parts[0], parts[1], parts[2]
	if err := runBenchChild(layout, dbDir, tmp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func runBenchChild(layout, dbDir, tmp string) error {
	ctx := context.Background()
	img, err := layoutImage(layout)
	if err != nil {
		return err
	}
	db, err := vulndb.Open(ctx, dbDir)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := grypescan.New(grypescan.Options{DB: db, TempDir: tmp})
	if err != nil {
		return err
	}
	blobs, err := scantest.NewBlobs(filepath.Join(layout, "blobs", "sha256"))
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := s.Scan(ctx, img, blobs)
	if err != nil {
		return err
	}
	fmt.Printf("status=%s reason=%q high=%d total=%d scan_seconds=%.2f\n", res.Status, res.Reason, res.Counts.High, res.Counts.Total, time.Since(start).Seconds())
	return nil
}

// layoutImage reads the one image of an OCI layout.
func layoutImage(layout string) (scan.Image, error) {
	var index struct {
		Manifests []oci.Descriptor `json:"manifests"`
	}
	if err := readJSON(filepath.Join(layout, "index.json"), &index); err != nil {
		return scan.Image{}, err
	}
	if len(index.Manifests) != 1 {
		return scan.Image{}, fmt.Errorf("layout has %d manifests, want 1", len(index.Manifests))
	}
	d := index.Manifests[0]
	var m struct {
		Config oci.Descriptor   `json:"config"`
		Layers []oci.Descriptor `json:"layers"`
	}
	if err := readJSON(filepath.Join(layout, "blobs", "sha256", d.Digest.Hex()), &m); err != nil {
		return scan.Image{}, err
	}
	return scan.Image{Digest: d.Digest, MediaType: d.MediaType, Config: m.Config, Layers: m.Layers}, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
