package markdown

import "bytes"

// limitLineNesting escapes container markers past MaxNesting at the start
// of a line ("> > > …", "- - - …", "1. 1. …"), before parsing. goldmark
// opens one block per marker and its cost grows with the square of the
// nesting a line opens, so a 100 000-marker line would take seconds; the
// escaped markers show as the characters they are. Nesting built over
// many lines by indentation is paid for in bytes (each level indents
// further) and treeGuard flattens what remains. Lines are copied only
// when one needs escaping.
func limitLineNesting(src []byte) []byte {
	var out []byte // nil until a line needs changing
	start := 0
	for start < len(src) {
		end := bytes.IndexByte(src[start:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += start + 1
		}
		line := src[start:end]
		if at := excessMarker(line); at >= 0 {
			if out == nil {
				out = make([]byte, 0, len(src)+len(src)/64)
				out = append(out, src[:start]...)
			}
			out = append(out, line[:at]...)
			out = append(out, '\\')
			out = append(out, line[at:]...)
		} else if out != nil {
			out = append(out, line...)
		}
		start = end
	}
	if out == nil {
		return src
	}
	return out
}

// excessMarker returns the offset of the (MaxNesting+1)th container
// marker at the start of line, or -1. The character at the offset is
// punctuation that a backslash makes literal: > - * + or an ordered
// marker's . or ).
func excessMarker(line []byte) int {
	depth, i := 0, 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			return -1
		}
		var next, escapeAt int
		switch c := line[i]; {
		case c == '>':
			next, escapeAt = i+1, i
		case c == '-' || c == '*' || c == '+':
			if i+1 < len(line) && line[i+1] != ' ' && line[i+1] != '\t' {
				return -1
			}
			next, escapeAt = i+1, i
		case c >= '0' && c <= '9':
			j := i
			for j < len(line) && j-i < 9 && line[j] >= '0' && line[j] <= '9' {
				j++
			}
			if j >= len(line) || (line[j] != '.' && line[j] != ')') {
				return -1
			}
			next, escapeAt = j+1, j
		default:
			return -1
		}
		depth++
		if depth > MaxNesting {
			return escapeAt
		}
		i = next
	}
}
