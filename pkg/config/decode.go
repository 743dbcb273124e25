package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// maxFileSize bounds the config file read; real files are a few KiB.
const maxFileSize = 1 << 20

// readFile reads the config file at path, refusing files over maxFileSize.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", maxFileSize)}
	}
	return data, nil
}

// decodeYAML decodes data strictly into dst, a pointer to a config struct
// already holding the defaults; keys absent from data keep them. It returns
// where each key sits in the file, for later validation errors.
func decodeYAML(data []byte, file string, dst any) (*sources, error) {
	src := newSources(file)
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(file, err, nil)
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			return nil, &Error{File: file, Line: tokenLine(doc.Body.GetToken()),
				Msg: "only one YAML document is allowed"}
		}
		body = doc.Body
	}
	if body == nil {
		return src, nil // empty file or comments only: defaults
	}
	paths := map[*token.Token]string{}
	indexNode(body, "", paths, src.lines)
	dropNulls(body, reflect.TypeOf(dst).Elem())
	if err := yaml.NodeToValue(body, dst, yaml.Strict()); err != nil {
		var ye yaml.Error
		if !errors.As(err, &ye) {
			// goccy reports bad durations without a position; find it.
			if key, tok, ok := findBadDuration(body, reflect.TypeOf(dst).Elem(), ""); ok {
				return nil, &Error{File: file, Line: tokenLine(tok), Key: key,
					Msg: fmt.Sprintf("%s: cannot parse %q as a duration (like 30s or 1h)", key, tok.Value)}
			}
		}
		return nil, yamlError(file, err, paths)
	}
	return src, nil
}

// yamlError turns a goccy error into an *Error with the file, the line and
// the dotted key.
func yamlError(file string, err error, paths map[*token.Token]string) error {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return &Error{File: file, Msg: err.Error()}
	}
	tok := ye.GetToken()
	key := paths[tok]
	e := &Error{File: file, Line: tokenLine(tok), Key: key, Msg: ye.GetMessage()}
	var (
		unknown    *yaml.UnknownFieldError
		typeErr    *yaml.TypeError
		nodeErr    *yaml.UnexpectedNodeTypeError
		overflow   *yaml.OverflowError
		mismatched string
	)
	switch {
	case errors.As(err, &unknown):
		e.Msg = fmt.Sprintf("unknown key %q", key)
		return e
	case errors.As(err, &typeErr):
		mismatched = fmt.Sprintf("cannot unmarshal %s into %s", typeName(typeErr.SrcType), typeName(typeErr.DstType))
	case errors.As(err, &nodeErr):
		mismatched = fmt.Sprintf("cannot unmarshal %s into %s", nodeErr.Actual.YAMLName(), nodeErr.Expected.YAMLName())
	case errors.As(err, &overflow):
		mismatched = fmt.Sprintf("%s does not fit into %s", overflow.SrcNum, typeName(overflow.DstType))
	default:
		return e // syntax and duplicate-key errors already say what is wrong
	}
	if key == "" {
		e.Msg = "top level: " + mismatched
	} else {
		e.Msg = key + ": " + mismatched
	}
	return e
}

// typeName names a Go type the way a YAML author thinks of it.
func typeName(t reflect.Type) string {
	if t == nil {
		return "null"
	}
	switch {
	case t == durationType:
		return "duration"
	case t == stringSliceType:
		return "list of strings"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.Map, reflect.Struct:
		return "mapping"
	case reflect.Slice, reflect.Array:
		return "sequence"
	}
	return t.Kind().String()
}

func tokenLine(tok *token.Token) int {
	if tok == nil || tok.Position == nil {
		return 0
	}
	return tok.Position.Line
}

// indexNode records the dotted path of every key and value token below n,
// and the line of every key, so errors can name what they are about.
func indexNode(n ast.Node, path string, paths map[*token.Token]string, lines map[string]int) {
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			indexNode(mv, path, paths, lines)
		}
	case *ast.MappingValueNode:
		if n.Key == nil || n.Key.GetToken() == nil {
			return
		}
		keyTok := n.Key.GetToken()
		p := keyTok.Value
		if path != "" {
			p = path + "." + p
		}
		if _, seen := lines[p]; !seen {
			lines[p] = tokenLine(keyTok)
		}
		record(paths, keyTok, p)
		if n.Value != nil {
			record(paths, n.Value.GetToken(), p)
			indexNode(n.Value, p, paths, lines)
		}
	case *ast.SequenceNode:
		for i, v := range n.Values {
			if v == nil {
				continue
			}
			p := path + "[" + strconv.Itoa(i) + "]"
			record(paths, v.GetToken(), p)
			indexNode(v, p, paths, lines)
		}
	case *ast.AnchorNode:
		if n.Value != nil {
			record(paths, n.Value.GetToken(), path)
			indexNode(n.Value, path, paths, lines)
		}
	case *ast.TagNode:
		if n.Value != nil {
			record(paths, n.Value.GetToken(), path)
			indexNode(n.Value, path, paths, lines)
		}
	}
}

// record keeps the first (outermost) path seen for a token.
func record(paths map[*token.Token]string, tok *token.Token, path string) {
	if tok == nil {
		return
	}
	if _, ok := paths[tok]; !ok {
		paths[tok] = path
	}
}

// dropNulls removes entries of known keys whose value is empty or null, so
// that "server:" with nothing under it keeps the defaults instead of zeroing
// the whole section (which is what the decoder would do). Unknown keys stay
// for the strict decoder to report.
func dropNulls(n ast.Node, t reflect.Type) {
	switch v := n.(type) {
	case *ast.AnchorNode:
		dropNulls(v.Value, t)
		return
	case *ast.TagNode:
		dropNulls(v.Value, t)
		return
	}
	m, ok := n.(*ast.MappingNode)
	if !ok || t.Kind() != reflect.Struct {
		return
	}
	kept := m.Values[:0]
	for _, mv := range m.Values {
		sf, known := mappingField(mv, t)
		if known && (mv.Value == nil || mv.Value.Type() == ast.NullType) {
			continue
		}
		if known {
			dropNulls(mv.Value, sf.Type)
		}
		kept = append(kept, mv)
	}
	m.Values = kept
}

// findBadDuration walks n along the struct type t and returns the first
// duration key whose string value does not parse.
func findBadDuration(n ast.Node, t reflect.Type, path string) (string, *token.Token, bool) {
	switch v := n.(type) {
	case *ast.AnchorNode:
		return findBadDuration(v.Value, t, path)
	case *ast.TagNode:
		return findBadDuration(v.Value, t, path)
	}
	if t == durationType {
		if s, ok := n.(*ast.StringNode); ok {
			if _, err := time.ParseDuration(s.Value); err != nil {
				return path, s.GetToken(), true
			}
		}
		return "", nil, false
	}
	m, ok := n.(*ast.MappingNode)
	if !ok || t.Kind() != reflect.Struct {
		return "", nil, false
	}
	for _, mv := range m.Values {
		sf, ok := mappingField(mv, t)
		if !ok || mv.Value == nil {
			continue
		}
		p := mv.Key.GetToken().Value
		if path != "" {
			p = path + "." + p
		}
		if key, tok, bad := findBadDuration(mv.Value, sf.Type, p); bad {
			return key, tok, true
		}
	}
	return "", nil, false
}

// mappingField returns the field of struct type t that the key of mv names.
func mappingField(mv *ast.MappingValueNode, t reflect.Type) (reflect.StructField, bool) {
	if mv == nil || mv.Key == nil || mv.Key.GetToken() == nil {
		return reflect.StructField{}, false
	}
	name := mv.Key.GetToken().Value
	for i := range t.NumField() {
		sf := t.Field(i)
		if tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ","); tag == name {
			return sf, true
		}
	}
	return reflect.StructField{}, false
}
