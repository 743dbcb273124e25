package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/conformance-junit.xml is 20 test cases cut out of a real run of
// the suite against distribution v3.1.2 (request/response dumps removed);
// its tallies are those of the whole original run.
const sample = "testdata/conformance-junit.xml"

func parseFile(t *testing.T, path string) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return rep
}

func TestParseConformanceReport(t *testing.T) {
	rep := parseFile(t, sample)
	if len(rep.Cases) != 20 {
		t.Fatalf("cases = %d, want 20", len(rep.Cases))
	}
	want := Tallies{Tests: 1036, Failures: 156, Errors: 0, Skipped: 25}
	if rep.Tallies != want {
		t.Errorf("tallies = %+v, want %+v", rep.Tallies, want)
	}
	first := rep.Cases[0]
	if first.Name != "OCI Conformance Test/ping" || first.Outcome != Passed || first.Message != "" {
		t.Errorf("first case = %+v", first)
	}
	referrers := rep.Cases[2]
	if referrers.Outcome != Failed || !strings.HasPrefix(referrers.Message, `header value mismatch for "Content-Type"`) {
		t.Errorf("empty/referrers = %+v", referrers)
	}
	skipped := rep.Cases[3]
	if skipped.Outcome != Skipped || skipped.Message != "registry does not support content in the POST, fallback to PUT" {
		t.Errorf("post-only = %+v", skipped)
	}
}

func TestSummaryCountsAndCategories(t *testing.T) {
	s := parseFile(t, sample).Summary()
	if s.Counts != (Counts{Passed: 13, Failed: 5, Skipped: 2}) {
		t.Errorf("counts = %+v", s.Counts)
	}
	wantCat := map[Category]Counts{
		Pull:              {Passed: 5, Failed: 3},
		Push:              {Passed: 4, Skipped: 2},
		ContentDiscovery:  {Passed: 2, Failed: 2},
		ContentManagement: {Passed: 2},
	}
	if len(s.ByCategory) != len(wantCat) {
		t.Errorf("categories = %v, want %v", s.ByCategory, wantCat)
	}
	for cat, want := range wantCat {
		if got := s.ByCategory[cat]; got != want {
			t.Errorf("%s = %+v, want %+v", cat, got, want)
		}
	}
	pull := s.Failures[Pull]
	if len(pull) != 1 || pull[0].Name != "OCI Conformance Test/sha512/pull/blob-get" || pull[0].Times != 3 {
		t.Errorf("pull failures = %+v, want one name seen 3 times", pull)
	}
	disc := s.Failures[ContentDiscovery]
	if len(disc) != 2 || disc[0].Name != "OCI Conformance Test/empty/referrers" ||
		disc[1].Name != "OCI Conformance Test/missing-subject/referrers" {
		t.Errorf("discovery failures = %+v", disc)
	}
	if strings.Contains(disc[0].Message, "\n") {
		t.Errorf("message keeps more than its first line: %q", disc[0].Message)
	}
}

func TestWriteSummary(t *testing.T) {
	var out bytes.Buffer
	if err := parseFile(t, sample).Summary().Write(&out, true, 0); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"conformance: 13 passed, 5 failed, 2 skipped of 20\n",
		"  suite tallies: 1036 checks, 156 failed, 0 errors, 25 skipped, 0 disabled\n",
		"  pull                       5       3        0\n",
		"failing tests by category:\n",
		"  pull (3)\n    sha512/pull/blob-get (×3): Docker-Content-Digest header value expected",
		"  content discovery (2)\n    empty/referrers: header value mismatch",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "content management (") {
		t.Errorf("a category without failures is listed under failing tests:\n%s", got)
	}
	out.Reset()
	if err := parseFile(t, sample).Summary().Write(&out, false, 1); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "header value mismatch") {
		t.Errorf("-messages=false still prints messages:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "    empty/referrers\n    … and 1 more (-max=0 lists all)\n") ||
		strings.Contains(out.String(), "missing-subject/referrers") {
		t.Errorf("-max=1 does not cut the list after one name:\n%s", out.String())
	}
}

func TestCategoryOf(t *testing.T) {
	for name, want := range map[string]Category{
		"OCI Conformance Test/ping":                                          Pull,
		"OCI Conformance Test/sha256 blobs/get-missing":                      Pull,
		"OCI Conformance Test/sha256 blobs/range requests/range 500-":        Pull,
		"OCI Conformance Test/sha256 blobs/range requests/blob-post-put":     Push,
		"OCI Conformance Test/invalid-digest-format/manifest-get":            Pull,
		"OCI Conformance Test/missing-manifest/by-digest":                    Pull,
		"OCI Conformance Test/image/head/manifest-head-by-tag":               Pull,
		"OCI Conformance Test/image/pull/manifest-by-digest":                 Pull,
		"OCI Conformance Test/image/push/manifest-by-digest":                 Push,
		"OCI Conformance Test/invalid-digest-format/manifest-put":            Push,
		"OCI Conformance Test/sha256 blobs/chunked multi/blob-patch-chunked": Push,
		"OCI Conformance Test/sha256 blobs/mount missing/blob-mount":         Push,
		"OCI Conformance Test/sha256 blobs/mount/blob-delete":                ContentManagement,
		"OCI Conformance Test/sha256 blobs/post cancel/blob-post-cancel":     ContentManagement,
		"OCI Conformance Test/image/delete/tag-delete":                       ContentManagement,
		"OCI Conformance Test/index/tag-list":                                ContentDiscovery,
		"OCI Conformance Test/empty/tag list":                                ContentDiscovery,
		"OCI Conformance Test/artifacts-with-subject/referrers":              ContentDiscovery,
		"OCI Conformance Test/something new":                                 Other,
	} {
		if got := CategoryOf(name); got != want {
			t.Errorf("CategoryOf(%q) = %q, want %q", name, got, want)
		}
	}
}

// Generic junit writers mark outcomes with child elements, under a bare
// <testsuite> root.
func TestParseChildElements(t *testing.T) {
	doc := `<testsuite tests="3" failures="1" skipped="1" disabled="2">
  <testcase classname="suite" name="a/push/blob-post-put"><failure message="boom">trace</failure></testcase>
  <testcase classname="suite" name="b/tag-list"><skipped/></testcase>
  <testcase classname="suite" name="c/pull/blob-get"/>
</testsuite>`
	rep, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tallies != (Tallies{Tests: 3, Failures: 1, Skipped: 1, Disabled: 2}) {
		t.Errorf("tallies = %+v", rep.Tallies)
	}
	s := rep.Summary()
	if s.Counts != (Counts{Passed: 1, Failed: 1, Skipped: 1}) {
		t.Errorf("counts = %+v", s.Counts)
	}
	f := s.Failures[Push]
	if len(f) != 1 || f[0].Name != "suite/a/push/blob-post-put" || f[0].Message != "boom" {
		t.Errorf("push failures = %+v", f)
	}
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"malformed":    `<testsuites><testsuite>`,
		"wrong root":   `<html><body/></html>`,
		"no testcases": `<testsuites tests="0"><testsuite name="x" tests="0"/></testsuites>`,
		"empty":        ``,
	} {
		if _, err := Parse(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: Parse accepted %q", name, doc)
		}
	}
	if _, err := Parse(strings.NewReader(`<testsuites/>`)); !errors.Is(err, errNoTests) {
		t.Errorf("empty <testsuites/>: err = %v, want errNoTests", err)
	}
}

func TestFirstLine(t *testing.T) {
	long := strings.Repeat("é", maxMessage) // 2 bytes each: the cut lands mid-rune
	got := firstLine(long + "\nsecond")
	if !strings.HasSuffix(got, "…") || len(got) > maxMessage+len("…") {
		t.Errorf("firstLine cut = %d bytes %q", len(got), got)
	}
	if trimmed := strings.TrimSuffix(got, "…"); !strings.HasPrefix(long, trimmed) || len(trimmed)%2 != 0 {
		t.Errorf("cut splits a rune: %q", got)
	}
	if firstLine("  one\ntwo") != "one" {
		t.Errorf("firstLine keeps more than the first line")
	}
}

func TestRunExitStatus(t *testing.T) {
	dir := t.TempDir()
	passing := filepath.Join(dir, "pass.xml")
	if err := os.WriteFile(passing, []byte(`<testsuites><testsuite tests="1"><testcase name="x/ping" status="passed"/></testsuite></testsuites>`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{passing}, 0},
		{[]string{sample}, 1},
		{[]string{filepath.Join(dir, "missing.xml")}, 2},
		{[]string{}, 2},
		{[]string{"-nope", passing}, 2},
	} {
		out.Reset()
		errOut.Reset()
		if got := run(tc.args, &out, &errOut); got != tc.want {
			t.Errorf("run(%v) = %d, want %d (stdout %q, stderr %q)", tc.args, got, tc.want, out.String(), errOut.String())
		}
	}
	out.Reset()
	run([]string{passing}, &out, &errOut)
	if out.String() == "" || !strings.HasPrefix(out.String(), "conformance: 1 passed, 0 failed, 0 skipped of 1\n") {
		t.Errorf("passing summary = %q", out.String())
	}
}
