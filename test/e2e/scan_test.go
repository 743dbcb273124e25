//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"atcr.io/pkg/hold/scan/scantest"
	"atcr.io/pkg/oci"
)

// The stack's hold has the TEST vulnerability database of scantest's
// fixtures (test/stack/e2e.sh imports it before the hold starts), so its
// scans are real Grype scans that know exactly one advisory:
// CVE-2022-38178 in Alpine 3.17's bind 9.18.0-r0, severity High.

// The scan tests push as bob (scanAccount), whose pages no other test
// browses: the AppView lists an account's records again only after
// browse.DefaultListTTL, so a page these tests open must not hold back
// another test's freshly pushed repository.

// TestScanPushedImage pushes an image whose layer has Alpine's bind
// 9.18.0-r0 installed with crane, as bob. The hold scans it: its
// io.atcr.hold.scan record (key: the manifest digest's hex) says completed,
// one high vulnerability, Grype v0.121.2 and the database's build time; the
// record is in the hold's signed repository (getRepo, verified against the
// hold's key); the report blob is Grype JSON naming the CVE and the SBOM
// blob is SPDX JSON naming bind. In Chromium, the repository page shows
// the badge "1 high", and the badge opens the CVE table with the NVD link.
func TestScanPushedImage(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	appview := env(t, "ATCR_APPVIEW_URL")
	hold := holdPublic(t)
	owner := scanAccount(t)
	tools := newRegTools(t)
	tools.login(t, registry, owner)
	name := regRepo(owner, "scan/vulnerable")
	path := strings.TrimPrefix(name, owner.Handle+"/")
	img := scanVulnerableImage(t, name)
	tools.run(t, "crane", "push", regLayout(t, filepath.Join(tools.dir, "image"), img), registry+"/"+name+":v1")
	raw, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	d, err := oci.ParseDigest(raw.String())
	if err != nil {
		t.Fatal(err)
	}
	manifestURI, holdDID := scanManifestURI(t, owner, path, d)
	if holdDID != hold.DID {
		t.Fatalf("the manifest record names hold %s; this test reads %s", holdDID, hold.DID)
	}

	rec := scanWaitRecord(t, hold, d)
	v := rec.Value
	t.Logf("scan record %s: status %q, critical %d high %d medium %d low %d total %d, %s", rec.URI, v.Status,
		v.Critical, v.High, v.Medium, v.Low, v.Total, v.ScannerVersion)
	if v.Status != "completed" || v.StatusReason != "" {
		t.Fatalf("scan record status %q (%q), want completed", v.Status, v.StatusReason)
	}
	// The fixture database knows one advisory; the image has one vulnerable package.
	if v.Critical != 0 || v.High != 1 || v.Medium != 0 || v.Low != 0 || v.Total != 1 {
		t.Errorf("counts critical %d high %d medium %d low %d total %d, want high 1 and total 1", v.Critical, v.High, v.Medium, v.Low, v.Total)
	}
	if !strings.HasPrefix(v.ScannerVersion, "grype-v0.121.2 db-") {
		t.Errorf("scannerVersion %q, want grype-v0.121.2 and the database's build time", v.ScannerVersion)
	} else if _, err := time.Parse(time.RFC3339, strings.TrimPrefix(v.ScannerVersion, "grype-v0.121.2 db-")); err != nil {
		t.Errorf("scannerVersion %q: the database's build time does not parse: %v", v.ScannerVersion, err)
	}
	if v.Manifest != manifestURI || v.Repository != path || v.UserDID != owner.DID {
		t.Errorf("scan record names manifest %s, repository %s, user %s; want %s, %s, %s",
			v.Manifest, v.Repository, v.UserDID, manifestURI, path, owner.DID)
	}
	if want := "at://" + hold.DID + "/io.atcr.hold.scan/" + d.Hex(); rec.URI != want {
		t.Errorf("scan record URI %s, want %s", rec.URI, want)
	}
	if _, err := time.Parse(time.RFC3339, v.ScannedAt); err != nil {
		t.Errorf("scannedAt %q: %v", v.ScannedAt, err)
	}
	scanVerifyInRepo(t, hold, d, rec)

	report := scanFetchBlob(t, hold, v.VulnReportBlob)
	found := false
	for _, m := range scanReportMatches(t, report) {
		if m.Vulnerability.ID == scantest.VulnID {
			found = true
			if m.Vulnerability.Severity != scantest.VulnSeverity || m.Artifact.Name != scantest.VulnPackage || m.Artifact.Version != scantest.VulnInstalled {
				t.Errorf("report match %+v, want %s %s in %s %s", m, scantest.VulnID, scantest.VulnSeverity, scantest.VulnPackage, scantest.VulnInstalled)
			}
		}
	}
	if !found {
		t.Errorf("the report (%d bytes) has no match of %s", len(report), scantest.VulnID)
	}
	var sbom struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name        string `json:"name"`
			VersionInfo string `json:"versionInfo"`
		} `json:"packages"`
	}
	sbomBytes := scanFetchBlob(t, hold, v.SbomBlob)
	if err := json.Unmarshal(sbomBytes, &sbom); err != nil || !strings.HasPrefix(sbom.SPDXVersion, "SPDX-") {
		t.Fatalf("the SBOM is not SPDX JSON (spdxVersion %q, %v): %.300s", sbom.SPDXVersion, err, sbomBytes)
	}
	hasBind := false
	for _, p := range sbom.Packages {
		hasBind = hasBind || (p.Name == scantest.VulnPackage && p.VersionInfo == scantest.VulnInstalled)
	}
	if !hasBind {
		t.Errorf("the SBOM's %d packages do not include %s %s", len(sbom.Packages), scantest.VulnPackage, scantest.VulnInstalled)
	}

	b := newBrowser(t)
	badge := `li.tag[data-tag="v1"] .vuln[data-state="vulnerable"]`
	b.openRepoTag(appview+"/r/"+name, "v1")
	b.waitVisible(badge, "#tags")
	if got := b.text(badge); got != "1 high" {
		t.Errorf("badge shows %q, want %q", got, "1 high")
	}
	b.shoot("scan-badge.png")

	b.step("open the CVE modal", chromedp.Click(chromedp.CSS(`li.tag[data-tag="v1"] a.vuln-open`)))
	b.waitVisible(`#vuln-dialog[open] #vuln-table`, "#vuln-dialog")
	row := b.text(`#vuln-table tbody tr`)
	for _, want := range []string{scantest.VulnID, "high", scantest.VulnPackage, scantest.VulnInstalled, scantest.VulnFixedIn} {
		if !strings.Contains(row, want) {
			t.Errorf("the modal's row %q lacks %q", row, want)
		}
	}
	if n := b.eval(`String(document.querySelectorAll("#vuln-table tbody tr").length)`); n != "1" {
		t.Errorf("the modal lists %s rows, want 1", n)
	}
	link := b.eval(`document.querySelector("#vuln-table td.vuln-id a").href`)
	if want := "https://nvd.nist.gov/vuln/detail/" + scantest.VulnID; link != want {
		t.Errorf("the CVE links to %q, want %q", link, want)
	}
	b.shoot("scan-modal.png")
}

// TestScanSkipsArtifacts pushes a Helm chart (oras, config media type
// application/vnd.cncf.helm.config.v1+json) and an in-toto attestation
// (oras, artifactType application/vnd.in-toto+json) through the AppView.
// The hold records both as skipped, saying what they are, with no report;
// the repository page shows both badges as not scanned with the reason.
func TestScanSkipsArtifacts(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	appview := env(t, "ATCR_APPVIEW_URL")
	hold := holdPublic(t)
	owner := scanAccount(t)
	tools := newRegTools(t)
	tools.login(t, registry, owner)
	name := regRepo(owner, "scan/artifacts")
	ref := registry + "/" + name

	write := func(file string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(tools.dir, file), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The repository's name in both makes them new on every run.
	write("config.json", []byte(`{"apiVersion":"v2","name":"scan-e2e","version":"0.1.0","description":"`+name+`"}`))
	write("scan-e2e-0.1.0.tgz", scanHelmChart(t))
	tools.run(t, "oras", "push", "--config", "config.json:application/vnd.cncf.helm.config.v1+json",
		ref+":chart", "scan-e2e-0.1.0.tgz:application/vnd.cncf.helm.chart.content.v1.tar+gzip")
	write("statement.json", []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"`+name+`","digest":{"sha256":"`+
		strings.Repeat("ab", 32)+`"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`))
	tools.run(t, "oras", "push", "--artifact-type", "application/vnd.in-toto+json",
		ref+":attestation", "statement.json:application/vnd.in-toto+json")

	for tag, kind := range map[string]string{"chart": "Helm chart", "attestation": "in-toto attestation"} {
		d := scanDigest(t, tools, ref+":"+tag)
		rec := scanWaitRecord(t, hold, d)
		v := rec.Value
		t.Logf("%s %s: status %q, reason %q", tag, d, v.Status, v.StatusReason)
		if v.Status != "skipped" || !strings.Contains(v.StatusReason, kind) {
			t.Errorf("%s: scan record status %q reason %q, want skipped naming %q", tag, v.Status, v.StatusReason, kind)
		}
		if v.VulnReportBlob != nil || v.SbomBlob != nil || v.Total != 0 {
			t.Errorf("%s: a skipped record with a report, an SBOM or counts: %+v", tag, v)
		}
		if !strings.HasPrefix(v.ScannerVersion, "grype-v0.121.2") {
			t.Errorf("%s: scannerVersion %q, want the scanner named", tag, v.ScannerVersion)
		}
	}

	b := newBrowser(t)
	chart := `li.tag[data-tag="chart"] .vuln[data-state="skipped"]`
	attestation := `li.tag[data-tag="attestation"] .vuln[data-state="skipped"]`
	b.openRepoTag(appview+"/r/"+name, "chart")
	b.waitVisible(chart, "#tags")
	b.step("scroll to the tag attestation", chromedp.ScrollIntoView(chromedp.CSS(`li.tag[data-tag="attestation"] .vuln`)))
	b.waitVisible(attestation, "#tags")
	for sel, kind := range map[string]string{chart: "Helm chart", attestation: "in-toto attestation"} {
		if got := b.text(sel); !strings.HasPrefix(got, "not scanned: ") || !strings.Contains(got, kind) {
			t.Errorf("badge shows %q, want not scanned naming %q", got, kind)
		}
	}
	b.shoot("scan-skipped.png")
}

// scanHelmChart is a minimal chart archive, as `helm package` makes.
func scanHelmChart(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	chart := []byte("apiVersion: v2\nname: scan-e2e\nversion: 0.1.0\n")
	if err := tw.WriteHeader(&tar.Header{Name: "scan-e2e/Chart.yaml", Mode: 0o644, Size: int64(len(chart)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(chart); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
