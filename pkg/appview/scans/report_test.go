package scans

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseReport(t *testing.T) {
	match := func(id, sev, pkg string) string {
		return fmt.Sprintf(`{"vulnerability":{"id":%q,"severity":%q,"fix":{"versions":["2.0","2.1"],"state":"fixed"},"urls":["x"]},`+
			`"relatedVulnerabilities":[{"id":"CVE-0"}],"artifact":{"name":%q,"version":"1.0","type":"apk","locations":[{"path":"/x"}]}}`, id, sev, pkg)
	}
	raw := `{"source":{"target":{"layers":[[1,2],{"a":[3]}]}},"matches":[` +
		match("CVE-2024-2", "High", "b") + "," + match("CVE-2024-1", "Critical", "a") + "," +
		match("CVE-2024-1", "Critical", "a") + "," + match("X-1", "weird", "c") +
		`],"descriptor":{"name":"grype"}}`
	rep, err := ParseReport(strings.NewReader(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range rep.Rows {
		got = append(got, v.ID+"/"+string(v.Severity)+"/"+v.FixedIn)
	}
	want := "CVE-2024-1/critical/2.0, 2.1 CVE-2024-2/high/2.0, 2.1 X-1/unknown/2.0, 2.1"
	if strings.Join(got, " ") != want {
		t.Fatalf("rows %q, want %q", strings.Join(got, " "), want)
	}
	if rep.Counts[Critical] != 1 || rep.Counts[Unknown] != 1 || rep.Dropped != 0 {
		t.Errorf("counts %v, dropped %d", rep.Counts, rep.Dropped)
	}

	capped, err := ParseReport(strings.NewReader(raw), Limits{MaxRows: 2})
	if err != nil || len(capped.Rows) != 2 || capped.Dropped != 1 || capped.Rows[0].ID != "CVE-2024-1" || capped.Rows[1].ID != "CVE-2024-2" {
		t.Errorf("cap 2: %+v, %d dropped, %v; want the critical and the high kept, the unknown dropped", capped.Rows, capped.Dropped, err)
	}
	if none, err := ParseReport(strings.NewReader(`{"matches":null}`), Limits{}); err != nil || len(none.Rows) != 0 {
		t.Errorf("null matches: %v", err)
	}
	for _, bad := range []string{``, `[]`, `{"matches":{}}`, `{"matches":[1]}`, `{"matches":[`, `{"matches":[]`, `nope`} {
		if _, err := ParseReport(strings.NewReader(bad), Limits{}); !errors.Is(err, errNotReport) {
			t.Errorf("ParseReport(%q) = %v, want errNotReport", bad, err)
		}
	}
}

func TestCleanCutsAndStrips(t *testing.T) {
	if got := clean("  a\x00b\x1b[1mc\u0085 ", 10); got != "ab[1mc" {
		t.Errorf("clean = %q", got)
	}
	long := strings.Repeat("é", 100)
	got := clean(long, 11)
	if !strings.HasSuffix(got, "…") || len(got) > 11+len("…") || !strings.HasPrefix(got, "ééééé") {
		t.Errorf("cut = %q", got)
	}
	if clean("\xff\xfe", 10) != "" {
		t.Error("invalid UTF-8 kept")
	}
}

func TestVulnLink(t *testing.T) {
	cases := map[string]string{
		"CVE-2024-12345":            "https://nvd.nist.gov/vuln/detail/CVE-2024-12345",
		"GHSA-jfh8-c2jp-5v3q":       "https://github.com/advisories/GHSA-jfh8-c2jp-5v3q",
		"CVE-2024-123":              "",
		"cve-2024-1234":             "",
		"CVE-2024-1234/../../x":     "",
		"GHSA-jfh8-c2jp-5v3":        "",
		"GHSA-0000-0000-0000":       "",
		"javascript:alert(1)":       "",
		"ALPINE-13661":              "",
		"CVE-2024-1234\nCVE-2024-1": "",
	}
	for id, want := range cases {
		if got := (Vuln{ID: id}).Link(); got != want {
			t.Errorf("Link(%q) = %q, want %q", id, got, want)
		}
	}
}

// Hostile reports: deep nesting is refused before it costs memory (16 MiB
// of "[" took 600 MB in the decoder's stack), millions of fix versions
// are not kept, and the rows stop at the byte bound (counted as dropped)
// so a parsed report always fits its cache.
func TestParseReportBoundsHostileShapes(t *testing.T) {
	deep := `{"source":` + strings.Repeat("[", 1<<20) + `}`
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	if _, err := ParseReport(strings.NewReader(deep), Limits{}); !errors.Is(err, errNotReport) {
		t.Fatalf("deep nesting: %v, want errNotReport", err)
	}
	runtime.ReadMemStats(&ms)
	if alloc := ms.TotalAlloc - before; alloc > 8<<20 {
		t.Errorf("deep nesting allocated %d MiB before it was refused", alloc>>20)
	}
	if _, err := ParseReport(strings.NewReader(`{"a":`+strings.Repeat("[", 64)+strings.Repeat("]", 64)+`,"matches":[]}`), Limits{}); err != nil {
		t.Errorf("nesting at the bound: %v", err)
	}

	fixes := `{"matches":[{"vulnerability":{"id":"CVE-2024-0001","severity":"High","fix":{"versions":[` +
		strings.TrimSuffix(strings.Repeat(`"1",`, 1_000_000), ",") + `]}},"artifact":{"name":"p","version":"1"}}]}`
	start := time.Now()
	rep, err := ParseReport(strings.NewReader(fixes), Limits{})
	if err != nil || len(rep.Rows) != 1 || rep.Rows[0].FixedIn != "1, 1, 1, 1, 1, …" {
		t.Fatalf("many fix versions: %+v, %v", rep, err)
	}
	t.Logf("a match of 1,000,000 fix versions (%d bytes) parsed in %v", len(fixes), time.Since(start))

	var b strings.Builder
	b.WriteString(`{"matches":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"vulnerability":{"id":"CVE-2024-%04d","severity":"Low"},"artifact":{"name":"%s","version":"1"}}`, i, strings.Repeat("p", 200))
	}
	b.WriteString(`]}`)
	rep, err = ParseReport(strings.NewReader(b.String()), Limits{MaxBytes: 10 * (200 + 13 + 1 + rowOverhead)})
	if err != nil || len(rep.Rows) != 10 || rep.Dropped != 90 || rep.bytes > 10*(200+13+1+rowOverhead) {
		t.Fatalf("byte bound: %d rows, %d dropped, %d bytes, %v", len(rep.Rows), rep.Dropped, rep.bytes, err)
	}
}

func TestCleanDropsFormatCharacters(t *testing.T) {
	if got := clean("\u202eCVE-2024-1111\u202d\u200b", 64); got != "CVE-2024-1111" {
		t.Errorf("clean = %q, want the bidi overrides and zero-width space gone", got)
	}
}

// Past the bounds the most severe rows are kept, whatever order the report
// lists them in (a report of thousands of low rows before its critical ones
// must not show "no critical vulnerabilities").
func TestParseReportKeepsTheMostSevere(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"matches":[`)
	for i := range 300 {
		sev := "Low"
		if i >= 290 {
			sev = "Critical"
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"vulnerability":{"id":"CVE-2024-%04d","severity":%q},"artifact":{"name":"p","version":"1"}}`, i, sev)
	}
	b.WriteString(`]}`)
	for _, lim := range []Limits{{MaxRows: 50}, {MaxBytes: 50 * (13 + 1 + 1 + rowOverhead)}} {
		rep, err := ParseReport(strings.NewReader(b.String()), lim)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 50 || rep.Counts[Critical] != 10 || rep.Counts[Low] != 40 || rep.Dropped != 250 || rep.Rows[0].Severity != Critical {
			t.Errorf("%+v: %d rows (%v), %d dropped, first %s; want the 10 critical and 40 low", lim, len(rep.Rows), rep.Counts, rep.Dropped, rep.Rows[0].Severity)
		}
	}
}

// A report naming "matches" twice keeps the rows of both (JSON's last key
// does not win here: both are read as they stream by).
func TestParseReportTwoMatchesMembers(t *testing.T) {
	raw := `{"matches":[{"vulnerability":{"id":"CVE-2024-0001","severity":"High"},"artifact":{"name":"a","version":"1"}}],` +
		`"matches":[{"vulnerability":{"id":"CVE-2024-0002","severity":"Low"},"artifact":{"name":"b","version":"1"}}]}`
	rep, err := ParseReport(strings.NewReader(raw), Limits{})
	if err != nil || len(rep.Rows) != 2 || rep.Counts[High] != 1 || rep.Counts[Low] != 1 {
		t.Fatalf("%+v, %v; want both rows, counted", rep, err)
	}
}
