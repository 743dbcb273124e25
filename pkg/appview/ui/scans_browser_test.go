package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"atcr.io/pkg/appview/scans"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/oci"
)

// TestScanBadgesInChromium renders the repository page in headless
// Chromium against the test server: the badges load themselves (HTMX,
// under the page's CSP), a queued badge turns into counts by polling, and
// a click opens the modal with the CVE table. Screenshots go to
// var/e2e/screenshots/. Skipped where Chromium is not installed, except
// under `make test` (ATCR_REQUIRE_CHROMIUM=1), which installs it first.
func TestScanBadgesInChromium(t *testing.T) {
	br := startChromium(t)
	se := newScanEnv(t, nil)
	hold := se.env.Hold
	img := se.manifest(t, "app", storagetest.HoldDID, oci.MediaTypeOCIManifest, nil, "v1")
	hold.PutScan(t, img, scanRecord("", "", 1, 2, 1, 1, 5), grypeReport(
		grypeMatch{"CVE-2024-45491", "Critical", "libexpat", "2.6.2-r0", "apk"},
		grypeMatch{"CVE-2024-6119", "High", "libcrypto3", "3.3.1-r0", "apk"},
		grypeMatch{"GHSA-jfh8-c2jp-5v3q", "High", "log4j-core", "2.14.1", "java-archive"},
		grypeMatch{"CVE-2024-9143", "Medium", "libssl3", "3.3.1-r0", "apk"},
		grypeMatch{`<script>alert(1)</script>`, "Low", `<b>busybox</b>`, "1.36.1-r29", "apk"},
	))
	pending := se.manifest(t, "app", storagetest.HoldDID, oci.MediaTypeOCIManifest, nil, "next")
	hold.SetScanStatus(pending, "scanning", 1)
	chart := se.manifest(t, "app", storagetest.HoldDID, oci.MediaTypeOCIManifest, nil, "chart")
	hold.PutScan(t, chart, scanRecord("skipped", "helm chart", 0, 0, 0, 0, 0), nil)

	ctx, step, shoot := br.ctx, br.step, br.shoot

	step("open the repository page",
		chromedp.Navigate(se.srv.URL+"/r/alice.test/app"),
		chromedp.WaitVisible(chromedp.CSS(`li.tag[data-tag="v1"] .vuln[data-state="vulnerable"]`)),
		chromedp.WaitVisible(chromedp.CSS(`li.tag[data-tag="chart"] .vuln[data-state="skipped"]`)),
		chromedp.WaitVisible(chromedp.CSS(`li.tag[data-tag="next"] .vuln[data-state="scanning"]`)),
	)
	chips := text(t, ctx, `li.tag[data-tag="v1"] .vuln`)
	for _, want := range []string{"1 critical", "2 high", "1 medium", "1 low"} {
		if !strings.Contains(chips, want) {
			t.Errorf("badge %q lacks %q", chips, want)
		}
	}
	shoot("ui-vuln-badges.png")

	// The scan finishes: the polling badge shows it without a reload.
	hold.SetScanStatus(pending, "none", 0)
	hold.PutScan(t, pending, scanRecord("", "", 0, 0, 0, 0, 0), grypeReport())
	se.clock.Advance(scans.DefaultPendingTTL + time.Second)
	step("the scanning badge turns clean by polling",
		chromedp.WaitVisible(chromedp.CSS(`li.tag[data-tag="next"] .vuln[data-state="clean"]`)))

	step("open the modal",
		chromedp.Click(chromedp.CSS(`li.tag[data-tag="v1"] a.vuln-open`)),
		chromedp.WaitVisible(chromedp.CSS(`#vuln-dialog[open] #vuln-table`)),
	)
	table := text(t, ctx, `#vuln-table`)
	first := strings.Index(table, "CVE-2024-45491")
	if first < 0 || !strings.Contains(table, `<script>alert(1)</script>`) || !strings.Contains(table, "<b>busybox</b>") {
		t.Errorf("modal table (hostile strings must show as text):\n%s", table)
	}
	if strings.Index(table, "CVE-2024-9143") < first {
		t.Errorf("critical is not first:\n%s", table)
	}
	href := attr(t, ctx, `#vuln-table td.vuln-id a`)
	if href != "https://nvd.nist.gov/vuln/detail/CVE-2024-45491" {
		t.Errorf("first link %q", href)
	}
	if n := evalInt(t, ctx, `document.querySelectorAll("#vuln-table script, #vuln-table b").length`); n != 0 {
		t.Errorf("%d elements made of report strings", n)
	}
	shoot("ui-vuln-modal.png")

	step("filter high",
		chromedp.Click(chromedp.CSS(`.vuln-filter a[data-severity="high"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.vuln-filter a[data-severity="high"][aria-current]`)),
	)
	if n := evalInt(t, ctx, `document.querySelectorAll("#vuln-table tbody tr").length`); n != 2 {
		t.Errorf("high filter shows %d rows, want 2", n)
	}
	step("close the modal",
		chromedp.Click(chromedp.CSS(`#vuln-close`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#vuln-dialog[open]`)),
	)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func attr(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.AttributeValue(chromedp.CSS(sel), "href"))
	if err != nil {
		t.Fatalf("href of %s: %v", sel, err)
	}
	return v.Value
}

func evalInt(t *testing.T, ctx context.Context, expr string) int {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := chromedp.Run(sctx, chromedp.Evaluate[int](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return n
}
