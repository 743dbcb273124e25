package keysync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	goyaml "github.com/goccy/go-yaml"
	goyamlparser "github.com/goccy/go-yaml/parser"
	"gopkg.in/yaml.v3"
)

// MergeYAML adds to current (the server's YAML config, named name in
// errors) every key of template it lacks, at any depth of block mappings:
// each missing key arrives with its template comments and its whole value,
// indented like its new neighbours, before the next template key the
// mapping has, or at the mapping's end. Nothing is re-encoded: the
// operator's lines stay as they are. The merged text is parsed again and
// must hold every value the current file held.
func MergeYAML(name string, current, template []byte) (Result, error) {
	curDoc, err := parseYAML(name, current)
	if err != nil {
		return Result{}, err
	}
	tmplDoc, err := parseYAML("template for "+name, template)
	if err != nil {
		return Result{}, err
	}
	res := Result{Text: current}
	if tmplDoc == nil {
		return res, nil
	}
	m := &yamlMerge{cur: splitLines(current), tmpl: splitLines(template), res: &res}
	if curDoc == nil {
		// An empty (or comments-only) file: every key is appended.
		for i := 0; i < len(tmplDoc.Content); i += 2 {
			m.missing(tmplDoc, i, len(m.tmpl), 0, len(m.cur), "")
		}
	} else {
		m.mapping(tmplDoc, curDoc, len(m.tmpl), len(m.cur), "")
	}
	if len(m.ins) == 0 {
		return res, nil
	}
	merged := applyInsertions(m.cur, m.ins)
	if err := checkKept(name, current, merged); err != nil {
		return Result{}, err
	}
	res.Text = merged
	return res, nil
}

// yamlMerge collects the insertions into the current file's lines.
type yamlMerge struct {
	cur, tmpl []string
	ins       []insertion
	res       *Result
}

// mapping merges template mapping t (whose text ends before template line
// tEnd) into current mapping c (ending before line cEnd).
func (m *yamlMerge) mapping(t, c *yaml.Node, tEnd, cEnd int, path string) {
	if c.Style&yaml.FlowStyle != 0 || (len(c.Content) == 0 && c.Line > 0) {
		for i := 0; i < len(t.Content); i += 2 {
			if lookup(c, t.Content[i].Value) == nil {
				m.res.Skipped = append(m.res.Skipped, join(path, t.Content[i].Value)+": its mapping is written in flow style ({…}); add it by hand")
			}
		}
		return
	}
	for i := 0; i < len(t.Content); i += 2 {
		key := t.Content[i].Value
		_, tStop := m.keyLines(m.tmpl, t, i, tEnd)
		cv := lookup(c, key)
		if cv == nil {
			at := m.mappingEnd(c, cEnd)
			for j := i + 2; j < len(t.Content); j += 2 {
				if ci := keyIndex(c, t.Content[j].Value); ci >= 0 {
					at = blockStart(m.cur, c.Content[ci].Line-1, 0)
					break
				}
			}
			m.missing(t, i, tEnd, c.Content[0].Column-t.Content[i].Column, at, path)
			continue
		}
		tv := t.Content[i+1]
		ci := keyIndex(c, key)
		switch {
		case tv.Kind == yaml.MappingNode && cv.Kind == yaml.MappingNode:
			_, cStop := m.keyLines(m.cur, c, ci, cEnd)
			m.mapping(tv, cv, tStop, cStop, join(path, key))
		case tv.Kind == yaml.MappingNode && isEmptyValue(cv):
			// `section:` with nothing under it: its keys go right below it,
			// indented as the template indents them under this key.
			shift := c.Content[ci].Column - t.Content[i].Column
			for j := 0; j < len(tv.Content); j += 2 {
				m.missing(tv, j, tStop, shift, c.Content[ci].Line, join(path, key))
			}
		}
	}
}

// missing inserts the template's key i of mapping t, indented by shift
// more columns, before current line at.
func (m *yamlMerge) missing(t *yaml.Node, i, tEnd, shift, at int, path string) {
	start, stop := m.keyLines(m.tmpl, t, i, tEnd)
	stop = trimBlankTail(m.tmpl, stop, start)
	var block []string
	for _, l := range m.tmpl[start:stop] {
		block = append(block, reindent(l, shift))
	}
	if t.Content[i].Column+shift == 1 {
		// Top-level entries are set apart by blank lines, as in the template.
		if at < len(m.cur) {
			block = append(block, "")
		} else if at > 0 && !isBlank(m.cur[at-1]) {
			block = append([]string{""}, block...)
		}
	}
	m.ins = append(m.ins, insertion{at: at, lines: block})
	m.res.Added = append(m.res.Added, join(path, t.Content[i].Value))
}

// keyLines returns the 0-based line range of mapping n's key i in lines:
// from its comment block to just before the next key's, or end.
func (m *yamlMerge) keyLines(lines []string, n *yaml.Node, i, end int) (int, int) {
	start := blockStart(lines, n.Content[i].Line-1, 0)
	stop := end
	if i+2 < len(n.Content) {
		stop = blockStart(lines, n.Content[i+2].Line-1, start+1)
	}
	return start, stop
}

// mappingEnd is where a key appended to mapping c goes: after its last
// non-blank line before end.
func (m *yamlMerge) mappingEnd(c *yaml.Node, end int) int {
	floor := 0
	if len(c.Content) > 0 {
		floor = c.Content[len(c.Content)-2].Line
	}
	return trimBlankTail(m.cur, end, floor)
}

// isEmptyValue reports whether v is a value left empty (`key:` and nothing
// else on the line), which the loader reads as "not set".
func isEmptyValue(v *yaml.Node) bool {
	return v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == ""
}

func reindent(line string, shift int) string {
	switch {
	case shift > 0 && !isBlank(line):
		return strings.Repeat(" ", shift) + line
	case shift < 0:
		trimmed := strings.TrimLeft(line, " ")
		cut := min(-shift, len(line)-len(trimmed))
		return line[cut:]
	}
	return line
}

func lookup(mapping *yaml.Node, key string) *yaml.Node {
	if i := keyIndex(mapping, key); i >= 0 {
		return mapping.Content[i+1]
	}
	return nil
}

func keyIndex(mapping *yaml.Node, key string) int {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseYAML returns the root mapping of text, nil for a file without
// content, or a *ParseError. The file is first parsed by goccy/go-yaml,
// the parser the binaries load their config with, so a file they would
// refuse is refused here too, with the line that parser names; yaml.v3
// then gives the node structure.
func parseYAML(name string, text []byte) (*yaml.Node, error) {
	if _, err := goyamlparser.ParseBytes(text, 0); err != nil {
		var ye goyaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			return nil, &ParseError{File: name, Line: ye.GetToken().Position.Line, Msg: ye.GetMessage()}
		}
		return nil, &ParseError{File: name, Msg: err.Error()}
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ParseError{File: name, Line: extra.Line, Msg: "a second YAML document; a config file holds one"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &ParseError{File: name, Line: root.Line, Msg: "the top level is not a mapping of keys"}
	}
	return root, nil
}

func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimPrefix(strings.Replace(msg, m[0], "", 1), ": ")
	}
	return &ParseError{File: name, Line: line, Msg: msg}
}

// checkKept parses merged and checks that every value of current is in it
// unchanged: the insertions only added keys.
func checkKept(name string, current, merged []byte) error {
	var before, after map[string]any
	if err := yaml.Unmarshal(current, &before); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := yaml.Unmarshal(merged, &after); err != nil {
		return fmt.Errorf("%s: adding keys would make the file invalid (%v); left as it is", name, err)
	}
	if !contains(after, before) {
		return fmt.Errorf("%s: adding keys would change existing values; left as it is", name)
	}
	return nil
}

// contains reports whether every key of want is in got with an equal value
// (mappings compared recursively, so got may have more keys; an empty
// section may have become a mapping).
func contains(got, want map[string]any) bool {
	for k, wv := range want {
		gv, ok := got[k]
		if !ok {
			return false
		}
		wm, wIsMap := wv.(map[string]any)
		gm, gIsMap := gv.(map[string]any)
		if wIsMap && gIsMap {
			if !contains(gm, wm) {
				return false
			}
			continue
		}
		if wv == nil && gIsMap {
			continue
		}
		if !reflect.DeepEqual(gv, wv) {
			return false
		}
	}
	return true
}
