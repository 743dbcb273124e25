package scans

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkParseReport parses a Grype report of 5,000 matches (about the
// size of a large distro image's report).
func BenchmarkParseReport(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"matches":[`)
	for i := range 5000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"vulnerability":{"id":"CVE-2024-%05d","severity":"High","fix":{"versions":["1.1"],"state":"fixed"},`+
			`"urls":["https://example.test/%d"],"description":"a description of some length for the finding"},`+
			`"matchDetails":[{"type":"exact-direct-match","matcher":"apk-matcher"}],`+
			`"artifact":{"name":"pkg%d","version":"1.0","type":"apk","locations":[{"path":"/lib/apk/db/installed"}]}}`, i, i, i)
	}
	buf.WriteString(`],"source":{"type":"image"},"descriptor":{"name":"grype"}}`)
	raw := buf.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := ParseReport(bytes.NewReader(raw), Limits{})
		if err != nil || len(rep.Rows) != 5000 {
			b.Fatalf("%d rows, %v", len(rep.Rows), err)
		}
	}
}
