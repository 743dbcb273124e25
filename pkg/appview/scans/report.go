package scans

import (
	"bytes"
	"cmp"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what one report keeps. The report comes from an image the
// pusher controls: every string is cut, and rows past MaxRows are counted,
// not kept.
const (
	DefaultMaxRows = 20_000
	maxIDLen       = 128
	maxPackageLen  = 256
	maxVersionLen  = 128
	maxFixLen      = 256
	maxFixVersions = 5
	// maxSkipDepth bounds the nesting of a member the parser skips:
	// Grype's JSON nests a handful of levels, and the decoder keeps a stack
	// entry per open bracket (16 MiB of "[" took 600 MB).
	maxSkipDepth = 64
	// rowOverhead is what a row costs besides its strings (Report.bytes).
	rowOverhead = 7 * 16
)

// Limits bound one ParseReport.
type Limits struct {
	// MaxRows bounds the rows kept; DefaultMaxRows when ≤ 0.
	MaxRows int
	// MaxBytes bounds the memory of the rows kept (Report.bytes), so a
	// parsed report always fits its cache; 0 means no bound.
	MaxBytes int64
}

// Severity is a Grype severity, normalised.
type Severity string

// The severities, most severe first (Grype's names, lowercased).
const (
	Critical   Severity = "critical"
	High       Severity = "high"
	Medium     Severity = "medium"
	Low        Severity = "low"
	Negligible Severity = "negligible"
	Unknown    Severity = "unknown"
)

// Severities lists them in the table's order.
var Severities = []Severity{Critical, High, Medium, Low, Negligible, Unknown}

// ParseSeverity reads a report's severity; anything it does not know is
// Unknown.
func ParseSeverity(s string) Severity {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Severities, v) {
		return v
	}
	return Unknown
}

// rank orders severities, most severe first.
func (s Severity) rank() int {
	if i := slices.Index(Severities, s); i >= 0 {
		return i
	}
	return len(Severities)
}

// Vuln is one row of the CVE table.
type Vuln struct {
	ID       string
	Severity Severity
	Package  string
	Version  string
	// Type is the package type (apk, deb, npm, …).
	Type string
	// FixedIn lists the versions that fix it, "" when none is known.
	FixedIn string
	// FixState is Grype's fix.state (fixed, not-fixed, wont-fix, unknown).
	FixState string
}

// Link is where the vulnerability is described: NVD for a CVE id, GitHub
// advisories for a GHSA id, "" for any other (the id stays text). The
// patterns are strict, so an id from a report never becomes anything but
// these two URLs.
func (v Vuln) Link() string {
	switch {
	case cvePattern.MatchString(v.ID):
		return "https://nvd.nist.gov/vuln/detail/" + v.ID
	case ghsaPattern.MatchString(v.ID):
		return "https://github.com/advisories/" + v.ID
	}
	return ""
}

var (
	cvePattern  = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	ghsaPattern = regexp.MustCompile(`^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$`)
)

// Report is a parsed Grype report: its rows, deduplicated and sorted, and
// what was left out.
type Report struct {
	Rows []Vuln
	// Counts are the rows of each severity.
	Counts map[Severity]int
	// Dropped counts the matches past the row bound, not kept.
	Dropped int
	// bytes approximates the memory the rows take (the cache's measure).
	bytes int64
}

// grypeMatch is what a row needs of one entry of Grype's matches[].
type grypeMatch struct {
	Vulnerability struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Fix      struct {
			Versions fixVersions `json:"versions"`
			State    string      `json:"state"`
		} `json:"fix"`
	} `json:"vulnerability"`
	Artifact struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Type    string `json:"type"`
	} `json:"artifact"`
}

// fixVersions keeps the first maxFixVersions+1 strings of an array (one
// more, to know the list goes on) and reads no further: a match may list
// millions (the decoder that hands it over has already checked the bytes
// are valid JSON).
type fixVersions []string

func (f *fixVersions) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return errors.New("fix versions: not an array")
	}
	for len(*f) <= maxFixVersions && dec.More() {
		var v string
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("fix versions: %w", err)
		}
		*f = append(*f, v)
	}
	return nil
}

// errNotReport: the JSON is not a Grype report.
var errNotReport = errors.New("not a Grype JSON report")

// ParseReport reads a Grype JSON report (grype -o json) from r as a
// stream: the top-level object's matches[] one match at a time, every
// other member skipped token by token. Rows past the limits are counted
// (Dropped), not kept; r must itself be bounded in bytes.
func ParseReport(r io.Reader, lim Limits) (*Report, error) {
	if lim.MaxRows <= 0 {
		lim.MaxRows = DefaultMaxRows
	}
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	rep := &Report{Counts: map[Severity]int{}}
	seen := map[Vuln]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errNotReport, err)
		}
		if key, _ := tok.(string); key != "matches" {
			if err := skipValue(dec); err != nil {
				return nil, err
			}
			continue
		}
		if err := rep.readMatches(dec, lim, seen); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	slices.SortFunc(rep.Rows, func(a, b Vuln) int {
		return cmp.Or(cmp.Compare(a.Severity.rank(), b.Severity.rank()), strings.Compare(a.ID, b.ID),
			strings.Compare(a.Package, b.Package), strings.Compare(a.Version, b.Version))
	})
	return rep, nil
}

// readMatches reads the matches array (null is none). Past the row or
// byte bound the least severe rows give way: a row more severe than the
// least severe one kept takes its place, so the rows shown are the most
// severe, whatever order the report lists them in.
func (rep *Report) readMatches(dec *json.Decoder, lim Limits, seen map[Vuln]bool) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %w", errNotReport, err)
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%w: matches is not an array", errNotReport)
	}
	// The kept rows are a heap in rep.Rows (sorted at the end of
	// ParseReport), so a report naming "matches" twice adds to them.
	kept := (*byLeastSevere)(&rep.Rows)
	full := func(size int64) bool {
		return len(*kept) >= lim.MaxRows || (lim.MaxBytes > 0 && rep.bytes+size > lim.MaxBytes)
	}
	for dec.More() {
		var m grypeMatch
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("%w: a match: %w", errNotReport, err)
		}
		v := m.row()
		if v.ID == "" || seen[v] {
			continue // Grype lists one finding once per matcher that found it
		}
		size := rowBytes(v)
		for len(*kept) > 0 && full(size) {
			least := (*kept)[0]
			if least.Severity.rank() <= v.Severity.rank() {
				break // v is no more severe than anything kept
			}
			heap.Pop(kept)
			delete(seen, least) // seen holds the kept rows only, so it stays bounded
			rep.bytes -= rowBytes(least)
			rep.Counts[least.Severity]--
			rep.Dropped++
		}
		if full(size) {
			rep.Dropped++
			continue
		}
		heap.Push(kept, v)
		seen[v] = true
		rep.Counts[v.Severity]++
		rep.bytes += size
	}
	return expectDelim(dec, ']')
}

// rowBytes is what a row takes in memory (Report.bytes).
func rowBytes(v Vuln) int64 {
	return int64(len(v.ID)+len(v.Package)+len(v.Version)+len(v.Type)+len(v.FixedIn)+len(v.FixState)) + rowOverhead
}

// byLeastSevere is a heap of rows with the least severe on top.
type byLeastSevere []Vuln

func (h byLeastSevere) Len() int           { return len(h) }
func (h byLeastSevere) Less(i, j int) bool { return h[i].Severity.rank() > h[j].Severity.rank() }
func (h byLeastSevere) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *byLeastSevere) Push(x any)        { *h = append(*h, x.(Vuln)) }
func (h *byLeastSevere) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

// row turns a match into a row, every string cut and cleaned.
func (m *grypeMatch) row() Vuln {
	var fixes []string
	for _, f := range m.Vulnerability.Fix.Versions {
		if len(fixes) == maxFixVersions {
			fixes = append(fixes, "…")
			break
		}
		if f = clean(f, maxVersionLen); f != "" {
			fixes = append(fixes, f)
		}
	}
	return Vuln{
		ID:       clean(m.Vulnerability.ID, maxIDLen),
		Severity: ParseSeverity(m.Vulnerability.Severity),
		Package:  clean(m.Artifact.Name, maxPackageLen),
		Version:  clean(m.Artifact.Version, maxVersionLen),
		Type:     clean(m.Artifact.Type, 32),
		FixedIn:  clean(strings.Join(fixes, ", "), maxFixLen),
		FixState: clean(m.Vulnerability.Fix.State, 32),
	}
}

// clean keeps valid UTF-8 without control or format characters (bidi
// overrides, zero-width characters: they reorder or hide what is shown),
// cut to n bytes (marked with "…"). The templates escape what is left.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %w", errNotReport, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%w: expected %q", errNotReport, want)
	}
	return nil
}

// skipValue consumes one JSON value token by token, so a large member
// (Grype's source and descriptor) is never held whole.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %w", errNotReport, err)
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if depth++; depth > maxSkipDepth {
					return fmt.Errorf("%w: nested deeper than %d", errNotReport, maxSkipDepth)
				}
			case '}', ']':
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
