package keysync

import (
	"fmt"
	"strings"
)

// Result is the outcome of a merge.
type Result struct {
	// Text is the merged file; it is the current file unchanged (the same
	// bytes) when Added is empty.
	Text []byte
	// Added lists the keys added, in template order: KEY for .env files,
	// dotted paths (storage.endpoint) for YAML.
	Added []string
	// Skipped lists keys the template has that could not be added without
	// rewriting the operator's text (e.g. into a flow-style mapping), with
	// the reason; the file is still valid and keeps its values.
	Skipped []string
}

// Changed reports whether the merge added anything.
func (r Result) Changed() bool { return len(r.Added) > 0 }

// ParseError is a config file that could not be parsed. Line is 1-based; 0
// means the parser gave no line.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// splitLines splits text into lines without their newlines; a final newline
// does not make an empty last line.
func splitLines(text []byte) []string {
	s := string(text)
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// insertion is a block of lines to insert before line index at (0-based;
// len(lines) appends).
type insertion struct {
	at    int
	lines []string
}

// applyInsertions returns lines with the insertions made; insertions at the
// same index keep their order.
func applyInsertions(lines []string, ins []insertion) []byte {
	var b strings.Builder
	for i := 0; i <= len(lines); i++ {
		for _, in := range ins {
			if in.at == i {
				for _, l := range in.lines {
					b.WriteString(l)
					b.WriteByte('\n')
				}
			}
		}
		if i < len(lines) {
			b.WriteString(lines[i])
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}

// isComment reports whether a line is a comment line (any indentation).
func isComment(line string) bool {
	return strings.HasPrefix(strings.TrimSpace(line), "#")
}

func isBlank(line string) bool { return strings.TrimSpace(line) == "" }

// blockStart walks up from line index i over the comment lines directly
// above it (no blank line between), not above floor.
func blockStart(lines []string, i, floor int) int {
	for i-1 >= floor && i-1 < len(lines) && isComment(lines[i-1]) {
		i--
	}
	return i
}

// trimBlankTail returns end moved up over blank lines, not above floor.
func trimBlankTail(lines []string, end, floor int) int {
	for end-1 >= floor && end-1 < len(lines) && isBlank(lines[end-1]) {
		end--
	}
	return end
}
