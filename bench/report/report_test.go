package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseFixture(t *testing.T) *Raw {
	t.Helper()
	f, err := os.Open("testdata/raw.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := ParseRaw(f)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func rowByID(t *testing.T, rows []Row, id string) Row {
	t.Helper()
	for _, r := range rows {
		if r.Figure.ID == id {
			return r
		}
	}
	t.Fatalf("no row %s", id)
	return Row{}
}

func TestRows(t *testing.T) {
	raw := parseFixture(t)
	rows := Rows(raw)
	if got := len(rows); got != 6 {
		t.Fatalf("%d rows, want 6", got)
	}
	for id, want := range map[string]struct {
		atcr, ref     string
		ratio, target string
		verdict       string
	}{
		// push 50: medians 0.300 vs 0.200 → 1.5×, over a small push's 1.2×.
		"push_50": {"0.300 (167 MiB/s)", "0.200 (250 MiB/s)", "1.50×", "≤ 1.2× reference", Miss},
		// pull 50: even count → mean of the middle two: 0.110 vs 0.090 → 1.22×.
		"pull_50":             {"0.110 (455 MiB/s)", "0.090 (556 MiB/s)", "1.22×", "≤ 1.2× reference", Miss},
		"manifest_rps":        {"12000", "9000", "1.33×", "≥ 2× reference", Miss},
		"appview_peak_rss":    {"50.0", "40.0", "1.25×", "≤ 1.5× reference", Pass},
		"appview_rss_sampled": {"48.0", "–", "–", "–", Info},
		"push_500":            {"error (below)", "2.500 (200 MiB/s)", "–", "≤ 1.5× reference", NotMeasured},
	} {
		r := rowByID(t, rows, id)
		got := struct{ atcr, ref, ratio, target, verdict string }{r.ATCR, r.Ref, r.Ratio, r.Target, r.Verdict}
		if got != (struct{ atcr, ref, ratio, target, verdict string }{want.atcr, want.ref, want.ratio, want.target, want.verdict}) {
			t.Errorf("%s = %+v, want %+v", id, got, want)
		}
	}
	if r := rowByID(t, rows, "push_50"); r.Runs[ATCR] != "0.300 / 0.280 / 0.400" {
		t.Errorf("push_50 runs = %q", r.Runs[ATCR])
	}
	if rows[0].Figure.ID != "push_50" || rows[len(rows)-1].Figure.ID != "push_500" {
		t.Errorf("rows not in first-seen order: %s … %s", rows[0].Figure.ID, rows[len(rows)-1].Figure.ID)
	}
}

func TestRSSTarget(t *testing.T) {
	fig, err := lookupFigure("appview_peak_rss")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fig.Judge(90*mib+1, 60*mib); ok {
		t.Error("over 1.5× the reference's VmHWM passes")
	}
	if _, ok := fig.Judge(90*mib, 60*mib); !ok {
		t.Error("1.5× the reference's VmHWM misses")
	}
	if _, ok := fig.Judge(50*mib, math.NaN()); ok {
		t.Error("passes without the reference's figure")
	}
}

// Issue 15's targets: a 50 MiB push ≤ 1.2×, a 500 MiB one ≤ 1.5×; manifest
// GETs ≥ 2× the rate with a p99 no worse; the stress run ≤ 1.5× the time.
func TestIssue15Targets(t *testing.T) {
	for _, tc := range []struct {
		id        string
		atcr, ref float64
		ok        bool
	}{
		{"push_50", 1.2, 1, true}, {"push_50", 1.21, 1, false},
		{"push_500", 1.5, 1, true}, {"push_500", 1.51, 1, false},
		{"manifest_rps", 2000, 1000, true}, {"manifest_rps", 1999, 1000, false},
		{"manifest_p99_ms", 10, 10, true}, {"manifest_p99_ms", 10.1, 10, false},
		{"stress_seconds", 15, 10, true}, {"stress_seconds", 15.1, 10, false},
	} {
		fig, err := lookupFigure(tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fig.Judge(tc.atcr, tc.ref); ok != tc.ok {
			t.Errorf("%s %v against %v: ok=%v, want %v", tc.id, tc.atcr, tc.ref, ok, tc.ok)
		}
	}
	if _, err := lookupFigure("manifest_p50_ms"); err != nil {
		t.Error(err)
	}
}

// One failed cycle of the stress run is a MISS; none is a PASS.
func TestStressTarget(t *testing.T) {
	fig, err := lookupFigure("stress_failures")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fig.Judge(1, math.NaN()); ok {
		t.Error("a failed stress cycle passes")
	}
	if _, ok := fig.Judge(0, math.NaN()); !ok {
		t.Error("a stress run without failures misses")
	}
	if _, err := lookupFigure("stress_cycles_per_s"); err != nil {
		t.Error(err)
	}
}

func TestWriteTextAndMarkdown(t *testing.T) {
	raw := parseFixture(t)
	rows := Rows(raw)
	var text bytes.Buffer
	if err := WriteText(&text, raw, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"figure", "ATCR/ref", "crane push 50 MiB image (s, median)", "MISS", "PASS",
		"not measured: push_500 on atcr: crane push failed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, raw, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- **date**: 2026-11-26T21:00:00Z\n",
		"| crane pull 50 MiB image (s, median) | 0.110 (455 MiB/s) | 0.090 (556 MiB/s) | 1.22× | ≤ 1.2× reference | MISS |\n",
		"| push_50 | 0.300 / 0.280 / 0.400 | 0.210 / 0.190 / 0.200 |\n",
		"- push_500 on atcr: crane push failed (exit 1): MANIFEST_INVALID\n",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

func TestParseRawRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":            "# nothing\n",
		"unknown record":   "bogus\tx\n",
		"unknown figure":   "run\tdisk_io\tatcr\t1\n",
		"unknown registry": "run\tpush_50\tzot\t1\n",
		"bad value":        "run\tpush_50\tatcr\tfast\n",
		"negative value":   "run\tpush_50\tatcr\t-1\n",
		"bad size":         "run\tpush_x\tatcr\t1\n",
		"short record":     "run\tpush_50\tatcr\n",
	} {
		if _, err := ParseRaw(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: accepted %q", name, doc)
		}
	}
}

func TestRunExitStatus(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "results.md")
	var out, errOut bytes.Buffer
	if code := run([]string{"-in", "testdata/raw.tsv", "-md", md}, &out, &errOut); code != 1 {
		t.Errorf("fixture with an error record: run = %d, want 1 (%s)", code, errOut.String())
	}
	if b, err := os.ReadFile(md); err != nil || !strings.HasPrefix(string(b), "# Benchmark results\n") {
		t.Errorf("markdown file: %v %q", err, b)
	}
	clean := filepath.Join(dir, "clean.tsv")
	if err := os.WriteFile(clean, []byte("run\tpush_50\tatcr\t9\nrun\tpush_50\treference\t1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"-in", clean}, &out, &errOut); code != 0 {
		t.Errorf("a MISS without errors: run = %d, want 0", code)
	}
	if !strings.Contains(out.String(), "9.00×") || !strings.Contains(out.String(), Miss) {
		t.Errorf("output = %q", out.String())
	}
	for _, args := range [][]string{{}, {"-in", filepath.Join(dir, "missing.tsv")}, {"-in", clean, "extra"}} {
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run(%v) = %d, want 2", args, code)
		}
	}
}
