package grypescan_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/hold/scan/grypescan"
	"atcr.io/pkg/hold/scan/scantest"
	"atcr.io/pkg/hold/scan/vulndb"
	"atcr.io/pkg/oci"
)

// env is a scanner with the fixture database, its temp dir inside base,
// and a blob store.
type env struct {
	base, tempDir string
	scanner       *grypescan.Scanner
	blobs         *scantest.Blobs
	built         time.Time
}

var fixtureBuilt = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, opts grypescan.Options) *env {
	t.Helper()
	e := &env{base: t.TempDir(), built: fixtureBuilt}
	e.tempDir = filepath.Join(e.base, "scan-tmp")
	if opts.DB == nil {
		opts.DB = scantest.ImportedDB(t, e.built)
	}
	opts.TempDir = e.tempDir
	s, err := grypescan.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.scanner = s
	blobs, err := scantest.NewBlobs(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	e.blobs = blobs
	return e
}

// image stores layers (tar writers) as gzip layers and returns the image.
func (e *env) image(t *testing.T, layers ...func(io.Writer) error) scan.Image {
	t.Helper()
	var ls []scantest.Layer
	for _, w := range layers {
		l, err := e.blobs.PutLayer(w)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	return e.imageOf(t, ls...)
}

func (e *env) imageOf(t *testing.T, ls ...scantest.Layer) scan.Image {
	t.Helper()
	img, err := e.blobs.Image(ls...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func (e *env) scan(t *testing.T, img scan.Image) scan.Result {
	t.Helper()
	res, err := e.scanner.Scan(context.Background(), img, e.blobs)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	e.checkClean(t)
	return res
}

// checkClean fails unless the job directories are gone.
func (e *env) checkClean(t *testing.T) {
	t.Helper()
	left, err := os.ReadDir(e.tempDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("temp dir not empty after the scan: %v", left)
	}
}

// grypeReport is the part of grype's JSON report the tests read.
type grypeReport struct {
	Matches []struct {
		Vulnerability struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
			Fix      struct {
				Versions []string `json:"versions"`
			} `json:"fix"`
		} `json:"vulnerability"`
		Artifact struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Type    string `json:"type"`
		} `json:"artifact"`
	} `json:"matches"`
	Distro struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"distro"`
	Descriptor struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		DB      struct {
			Status struct {
				Built string `json:"built"`
			} `json:"status"`
		} `json:"db"`
	} `json:"descriptor"`
}

func checkVulnerable(t *testing.T, res scan.Result, built time.Time) {
	t.Helper()
	if res.Status != scan.StatusCompleted {
		t.Fatalf("status %s (%s), want completed", res.Status, res.Reason)
	}
	if res.Counts != (scan.Counts{High: 1, Total: 1}) {
		t.Errorf("counts %+v, want one high", res.Counts)
	}
	var rep grypeReport
	if err := json.Unmarshal(res.Report, &rep); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if len(rep.Matches) != 1 {
		t.Fatalf("report has %d matches, want 1: %s", len(rep.Matches), res.Report)
	}
	m := rep.Matches[0]
	if m.Vulnerability.ID != scantest.VulnID || m.Vulnerability.Severity != scantest.VulnSeverity ||
		m.Artifact.Name != scantest.VulnPackage || m.Artifact.Version != scantest.VulnInstalled ||
		m.Artifact.Type != "apk" || len(m.Vulnerability.Fix.Versions) != 1 || m.Vulnerability.Fix.Versions[0] != scantest.VulnFixedIn {
		t.Errorf("match = %+v", m)
	}
	if rep.Distro.Name != "alpine" || !strings.HasPrefix(rep.Distro.Version, "3.17") {
		t.Errorf("distro = %+v, want alpine 3.17", rep.Distro)
	}
	if rep.Descriptor.Name != "grype" || rep.Descriptor.Version != vulndb.GrypeVersion() || rep.Descriptor.DB.Status.Built == "" {
		t.Errorf("descriptor = %+v", rep.Descriptor)
	}
	var sbom struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name        string `json:"name"`
			VersionInfo string `json:"versionInfo"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(res.SBOM, &sbom); err != nil {
		t.Fatalf("SBOM is not JSON: %v", err)
	}
	if !strings.HasPrefix(sbom.SPDXVersion, "SPDX-2.") {
		t.Errorf("SBOM spdxVersion %q", sbom.SPDXVersion)
	}
	found := false
	for _, p := range sbom.Packages {
		found = found || (p.Name == scantest.VulnPackage && p.VersionInfo == scantest.VulnInstalled)
	}
	if !found {
		t.Errorf("SBOM lacks %s %s: %s", scantest.VulnPackage, scantest.VulnInstalled, res.SBOM)
	}
	want := "grype-" + vulndb.GrypeVersion() + " db-" + built.Format(time.RFC3339)
	if res.ScannerVersion != want || len(res.ScannerVersion) > 64 {
		t.Errorf("scanner version %q, want %q", res.ScannerVersion, want)
	}
	if !regexp.MustCompile(`^grype-v\d+\.\d+\.\d+ db-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(res.ScannerVersion) {
		t.Errorf("scanner version %q has the wrong form", res.ScannerVersion)
	}
	if !res.DBBuilt.Equal(built) {
		t.Errorf("DBBuilt %v, want %v", res.DBBuilt, built)
	}
}

func TestScanVulnerableImage(t *testing.T) {
	e := newEnv(t, grypescan.Options{})
	// A lower layer with a FIFO and a device node (skipped: a FIFO would
	// block whoever opens it) and a file the upper layer whites out.
	lower := scantest.Entries(
		&tar.Header{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3},
		&tar.Header{Name: "run.fifo", Typeflag: tar.TypeFifo},
		&tar.Header{Name: "old/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "old/secret", Typeflag: tar.TypeReg, Size: 3},
	)
	upper := scantest.Entries(&tar.Header{Name: ".wh.old", Typeflag: tar.TypeReg})
	img := e.image(t, lower, scantest.VulnerableAlpine, upper)
	checkVulnerable(t, e.scan(t, img), e.built)
}

// An image whose artifactType is its config media type — how the AppView
// records every image it stores — is an image, not an artifact.
func TestScanImageWithConfigArtifactType(t *testing.T) {
	e := newEnv(t, grypescan.Options{})
	img := e.image(t, scantest.VulnerableAlpine)
	img.ArtifactType = img.Config.MediaType
	checkVulnerable(t, e.scan(t, img), e.built)
}

func TestScanZstdAndPlainLayers(t *testing.T) {
	e := newEnv(t, grypescan.Options{})
	l, err := e.blobs.PutLayer(scantest.VulnerableAlpine)
	if err != nil {
		t.Fatal(err)
	}
	// The same tar, stored uncompressed.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(scantest.VulnerableAlpine(pw)) }()
	data, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e.blobs.Put(oci.MediaTypeOCILayer, data)
	if err != nil {
		t.Fatal(err)
	}
	img := e.imageOf(t, l)
	img.Layers = []oci.Descriptor{plain}
	checkVulnerable(t, e.scan(t, img), e.built)
}

// The hostile images of the issue: each ends as failed with its reason,
// writes nothing outside the job's directory, leaves the temp dir empty,
// and the next scan on the same Scanner works.
func TestHostileImages(t *testing.T) {
	const maxFiles = 5000
	// The bomb guard starts at 16 MiB, below the 64 MiB disk limit, so the
	// bomb is caught as one (TestTarBombWithRoomyDisk uses the defaults).
	e := newEnv(t, grypescan.Options{MaxFiles: maxFiles, MaxTempDisk: 64 << 20, MinBombBytes: 16 << 20})
	canary := filepath.Join(e.base, "canary")
	if err := os.Mkdir(canary, 0o755); err != nil {
		t.Fatal(err)
	}
	// Layers of their own content: a blob store holds one file per digest.
	mismatched, err := e.blobs.PutMismatched(scantest.Files(map[string]string{"etc/os-release": "ID=alpine\n", "tampered": "yes"}))
	if err != nil {
		t.Fatal(err)
	}
	short, err := e.blobs.PutLayer(scantest.Files(map[string]string{"etc/os-release": "ID=alpine\n", "short": "yes"}))
	if err != nil {
		t.Fatal(err)
	}
	short.Desc.Size-- // the stored blob is one byte longer than the record says

	cases := []struct {
		name   string
		layer  func(io.Writer) error
		stored *scantest.Layer
		reason string
	}{
		{name: "tar bomb", layer: scantest.TarBomb(512 << 20), reason: "decompression bomb"},
		{name: "dot-dot entry", layer: scantest.DotDot, reason: "leaves the image root"},
		{name: "absolute entry", layer: scantest.AbsolutePath(filepath.Join(canary, "abs")), reason: "has an absolute path"},
		{name: "symlink out of the root", layer: scantest.SymlinkEscape("../../../../../../../" + canary), reason: "points outside the image root"},
		// An absolute target means the same path inside the image: the link
		// is kept inside the root, and the write through it fails there.
		{name: "absolute symlink to the host", layer: scantest.SymlinkEscape(canary), reason: `cannot unpack entry "escape/pwned"`},
		{name: "hard link out of the root", layer: scantest.Entries(&tar.Header{Name: "passwd", Typeflag: tar.TypeLink, Linkname: "../../../etc/passwd"}), reason: "leaves the image root"},
		{name: "millions of tiny files", layer: scantest.ManyFiles(1_000_000), reason: "more than 5000 files"},
		{name: "huge sparse file", layer: scantest.SparseHeader(1 << 40), reason: "scanner.max_temp_disk"},
		{name: "bytes not matching the digest", stored: &mismatched, reason: "does not match its digest"},
		{name: "blob longer than its size", stored: &short, reason: "does not match its digest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var img scan.Image
			if c.stored != nil {
				img = e.imageOf(t, *c.stored)
			} else {
				img = e.image(t, scantest.VulnerableAlpine, c.layer)
			}
			res := e.scan(t, img)
			if res.Status != scan.StatusFailed || !strings.Contains(res.Reason, c.reason) {
				t.Errorf("result %s %q, want failed with %q", res.Status, res.Reason, c.reason)
			}
			if len(res.Reason) > 512 || res.ScannerVersion == "" {
				t.Errorf("reason %d bytes, scanner version %q", len(res.Reason), res.ScannerVersion)
			}
			checkNothingOutside(t, e)
			// The next scan on the same Scanner works.
			checkVulnerable(t, e.scan(t, e.image(t, scantest.VulnerableAlpine)), e.built)
		})
	}
}

// checkNothingOutside fails when anything but the temp dir and the
// untouched canary is in the scanner's base directory.
func checkNothingOutside(t *testing.T, e *env) {
	t.Helper()
	entries, err := os.ReadDir(e.base)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Name() != "scan-tmp" && en.Name() != "canary" {
			t.Errorf("%s was written outside the job directory", en.Name())
		}
	}
	if left, _ := os.ReadDir(filepath.Join(e.base, "canary")); len(left) != 0 {
		t.Errorf("the canary directory was written to: %v", left)
	}
	for _, p := range []string{"/escaped-dotdot", filepath.Join(filepath.Dir(e.base), "escaped-dotdot")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists", p)
		}
	}
}

// The bomb guard holds even when the disk limit would allow the bytes.
func TestTarBombWithRoomyDisk(t *testing.T) {
	e := newEnv(t, grypescan.Options{MaxTempDisk: 8 << 30})
	res := e.scan(t, e.image(t, scantest.TarBomb(512<<20)))
	if res.Status != scan.StatusFailed || !strings.Contains(res.Reason, "decompression bomb") {
		t.Errorf("result %s %q, want failed as a decompression bomb", res.Status, res.Reason)
	}
}

func TestSkippedArtifacts(t *testing.T) {
	e := newEnv(t, grypescan.Options{})
	layer, err := e.blobs.PutLayer(scantest.VulnerableAlpine)
	if err != nil {
		t.Fatal(err)
	}
	image := e.imageOf(t, layer)
	desc := func(mt string) oci.Descriptor {
		d := layer.Desc
		d.MediaType = mt
		return d
	}
	empty := oci.Descriptor{MediaType: oci.MediaTypeOCIEmpty, Digest: layer.Desc.Digest, Size: 2}
	cases := []struct {
		name   string
		edit   func(*scan.Image)
		reason string
	}{
		{"helm chart", func(i *scan.Image) {
			i.Config.MediaType = "application/vnd.cncf.helm.config.v1+json"
			i.Layers = []oci.Descriptor{desc("application/vnd.cncf.helm.chart.content.v1.tar+gzip")}
		}, "a Helm chart"},
		{"in-toto attestation", func(i *scan.Image) {
			i.ArtifactType = "application/vnd.in-toto+json"
			i.Config = empty
			i.Layers = []oci.Descriptor{desc("application/vnd.in-toto+json")}
		}, "an in-toto attestation"},
		{"dsse attestation", func(i *scan.Image) {
			i.Layers = []oci.Descriptor{desc("application/vnd.dsse.envelope.v1+json")}
		}, "a DSSE attestation"},
		{"cosign signature", func(i *scan.Image) {
			i.Layers = []oci.Descriptor{desc("application/vnd.dev.cosign.simplesigning.v1+json")}
		}, "a cosign signature"},
		{"other artifact type", func(i *scan.Image) { i.ArtifactType = "application/vnd.example.thing" }, "artifact type application/vnd.example.thing"},
		{"unknown config", func(i *scan.Image) { i.Config.MediaType = "application/vnd.example.config+json" }, "config media type application/vnd.example.config+json"},
		{"index", func(i *scan.Image) { i.MediaType = oci.MediaTypeOCIIndex }, "platform manifests"},
		{"foreign layer", func(i *scan.Image) { i.Layers = []oci.Descriptor{desc(oci.MediaTypeDockerForeignLayer)} }, "non-distributable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := image
			img.Layers = append([]oci.Descriptor(nil), image.Layers...)
			c.edit(&img)
			before := e.blobs.Opens()
			res := e.scan(t, img)
			if res.Status != scan.StatusSkipped || !strings.Contains(res.Reason, c.reason) {
				t.Errorf("result %s %q, want skipped with %q", res.Status, res.Reason, c.reason)
			}
			if e.blobs.Opens() != before {
				t.Error("a skipped artifact's blobs were read")
			}
			if want := grypescan.ScannerVersion(e.built); res.ScannerVersion != want {
				t.Errorf("scanner version %q, want %q", res.ScannerVersion, want)
			}
		})
	}
}

func TestNoDatabaseSkips(t *testing.T) {
	ctx := context.Background()
	db, err := vulndb.Open(ctx, filepath.Join(t.TempDir(), "empty"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, grypescan.Options{DB: db})
	img := e.image(t, scantest.VulnerableAlpine)
	before := e.blobs.Opens()
	res := e.scan(t, img)
	if res.Status != scan.StatusSkipped || res.Reason != "no vulnerability database" {
		t.Errorf("result %s %q, want skipped: no vulnerability database", res.Status, res.Reason)
	}
	if e.blobs.Opens() != before {
		t.Error("layers were read without a database")
	}
	if want := "grype-" + vulndb.GrypeVersion(); res.ScannerVersion != want || !res.DBBuilt.IsZero() {
		t.Errorf("scanner version %q, DBBuilt %v; want %q and none", res.ScannerVersion, res.DBBuilt, want)
	}
}

// cancelingBlobs cancels the scan's context the first time a layer's bytes
// are read: a job stopped mid-unpack.
type cancelingBlobs struct {
	scan.Blobs
	cancel context.CancelFunc
}

func (c cancelingBlobs) Open(ctx context.Context, d oci.Digest) (io.ReadCloser, error) {
	rc, err := c.Blobs.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	return cancelOnRead{rc, c.cancel}, nil
}

type cancelOnRead struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnRead) Read(p []byte) (int, error) {
	c.cancel()
	return c.ReadCloser.Read(p)
}

func TestCancelMidScan(t *testing.T) {
	e := newEnv(t, grypescan.Options{})
	img := e.image(t, scantest.RandomFile("big", 64<<20, 1), scantest.VulnerableAlpine)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := e.scanner.Scan(ctx, img, cancelingBlobs{e.blobs, cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan after cancel = %+v, %v; want context.Canceled", res, err)
	}
	e.checkClean(t)
	checkVulnerable(t, e.scan(t, e.image(t, scantest.VulnerableAlpine)), e.built)
}

// A storage failure is the hold's, not the image's: an error (retry).
type failingBlobs struct{}

func (failingBlobs) Open(context.Context, oci.Digest) (io.ReadCloser, error) {
	return nil, errors.New("connection refused")
}

func TestStorageFailureIsRetried(t *testing.T) {
	e := newEnv(t, grypescan.Options{})
	img := e.image(t, scantest.VulnerableAlpine)
	if res, err := e.scanner.Scan(context.Background(), img, failingBlobs{}); err == nil {
		t.Fatalf("Scan with failing storage = %+v, want an error", res)
	}
	e.checkClean(t)
}

// Scans may run concurrently on one Scanner (unpacking in parallel,
// cataloging one at a time).
func TestConcurrentScans(t *testing.T) {
	e := newEnv(t, grypescan.Options{})
	img := e.image(t, scantest.VulnerableAlpine)
	results := make(chan scan.Result, 3)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			res, err := e.scanner.Scan(context.Background(), img, e.blobs)
			results <- res
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		checkVulnerable(t, <-results, e.built)
	}
	e.checkClean(t)
}
