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
		// push 50: medians 0.300 vs 0.200 → 1.5×, exactly at the limit.
		"push_50": {"0.300 (167 MiB/s)", "0.200 (250 MiB/s)", "1.50×", "≤ 1.5× reference", Pass},
		// pull 50: even count → mean of the middle two: 0.110 vs 0.090 → 1.22×.
		"pull_50":             {"0.110 (455 MiB/s)", "0.090 (556 MiB/s)", "1.22×", "≤ 1.2× reference", Miss},
		"manifest_rps":        {"12000", "9000", "1.33×", "≥ 1× reference", Pass},
		"appview_peak_rss":    {"50.0", "40.0", "1.25×", "< 150 MiB", Pass},
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
	if _, ok := fig.Judge(150*mib, math.NaN()); ok {
		t.Error("150 MiB passes a < 150 MiB target")
	}
	if _, ok := fig.Judge(150*mib-1, math.NaN()); !ok {
		t.Error("just under 150 MiB misses")
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
