package keysync

import (
	"fmt"
	"regexp"
	"strings"
)

// envKey matches an assignment's start: optional `export`, the name, `=`.
var envKey = regexp.MustCompile(`^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=`)

// envEntry is one assignment of a .env file: its key and its first and
// last line (0-based; a quoted value may span lines).
type envEntry struct {
	key         string
	first, last int
}

// envFile is a parsed .env file: its assignments in order, and the keys
// that appear only commented out (`# KEY=…`), which count as present: the
// operator chose to leave them unset.
type envFile struct {
	lines     []string
	entries   []envEntry
	commented map[string]bool
}

// parseEnv parses a .env file the way Docker Compose reads one: blank
// lines, comments, and KEY=VALUE lines whose value may be a quoted string
// spanning lines. Anything else is a *ParseError.
func parseEnv(name string, text []byte) (*envFile, error) {
	f := &envFile{lines: splitLines(text), commented: map[string]bool{}}
	for i := 0; i < len(f.lines); i++ {
		line := f.lines[i]
		if isBlank(line) {
			continue
		}
		if isComment(line) {
			if m := envKey.FindStringSubmatch(strings.TrimLeft(strings.TrimSpace(line), "# ")); m != nil {
				f.commented[m[1]] = true
			}
			continue
		}
		m := envKey.FindStringSubmatch(line)
		if m == nil {
			return nil, &ParseError{File: name, Line: i + 1, Msg: fmt.Sprintf("not a KEY=VALUE line: %q", line)}
		}
		first := i
		value := strings.TrimSpace(line[len(m[0]):])
		if q := quoteOf(value); q != 0 && !closes(value[1:], q) {
			for i++; i < len(f.lines) && !closes(f.lines[i], q); i++ {
			}
			if i == len(f.lines) {
				return nil, &ParseError{File: name, Line: first + 1, Msg: fmt.Sprintf("%s: quoted value is never closed", m[1])}
			}
		}
		f.entries = append(f.entries, envEntry{key: m[1], first: first, last: i})
	}
	return f, nil
}

func quoteOf(value string) byte {
	if value != "" && (value[0] == '"' || value[0] == '\'') {
		return value[0]
	}
	return 0
}

// closes reports whether s holds the closing quote q (unescaped for ").
func closes(s string, q byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && q == '"' {
			i++
			continue
		}
		if s[i] == q {
			return true
		}
	}
	return false
}

func (f *envFile) has(key string) bool {
	for _, e := range f.entries {
		if e.key == key {
			return true
		}
	}
	return false
}

func (f *envFile) entry(key string) (envEntry, bool) {
	for _, e := range f.entries {
		if e.key == key {
			return e, true
		}
	}
	return envEntry{}, false
}

// MergeEnv adds to current (the server's .env, named name in errors) every
// key of template it lacks, each with the comment lines directly above it
// in the template, before the block of the next template key the file has,
// or at the end. A key the file has commented out counts as present.
func MergeEnv(name string, current, template []byte) (Result, error) {
	cur, err := parseEnv(name, current)
	if err != nil {
		return Result{}, err
	}
	tmpl, err := parseEnv("template for "+name, template)
	if err != nil {
		return Result{}, err
	}
	res := Result{Text: current}
	var ins []insertion
	for i, e := range tmpl.entries {
		if cur.has(e.key) || cur.commented[e.key] {
			continue
		}
		start := blockStart(tmpl.lines, e.first, 0)
		block := append([]string(nil), tmpl.lines[start:e.last+1]...)
		at, before := len(cur.lines), false
		for _, next := range tmpl.entries[i+1:] {
			if ce, ok := cur.entry(next.key); ok {
				at, before = blockStart(cur.lines, ce.first, 0), true
				break
			}
		}
		spaced := e.last+1 < len(tmpl.lines) && isBlank(tmpl.lines[e.last+1])
		switch {
		case before && spaced:
			block = append(block, "")
		case !before && at > 0 && !isBlank(cur.lines[at-1]) && start > 0 && isBlank(tmpl.lines[start-1]):
			block = append([]string{""}, block...)
		}
		ins = append(ins, insertion{at: at, lines: block})
		res.Added = append(res.Added, e.key)
	}
	if len(ins) == 0 {
		return res, nil
	}
	res.Text = applyInsertions(cur.lines, ins)
	return res, nil
}
