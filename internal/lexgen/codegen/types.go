package codegen

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/bluesky-social/indigo/atproto/lexicon"
)

// emitter collects the body of one generated file.
type emitter struct {
	buf        bytes.Buffer
	usesAtdata bool
}

func (e *emitter) linef(format string, args ...any) {
	fmt.Fprintf(&e.buf, format, args...)
	e.buf.WriteByte('\n')
}

// comment writes text as a // comment, wrapped at about 100 columns;
// blank lines in text become paragraph breaks.
func (e *emitter) comment(indent, text string) {
	for i, para := range strings.Split(text, "\n\n") {
		if i > 0 {
			e.linef("%s//", indent)
		}
		line := ""
		for _, word := range strings.Fields(para) {
			if line != "" && len(indent)+3+len(line)+1+len(word) > 100 {
				e.linef("%s// %s", indent, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += word
		}
		if line != "" {
			e.linef("%s// %s", indent, line)
		}
	}
}

// structType renders a struct with one JSON-tagged field per property, in
// property-name order. Records get a LexiconTypeID field for "$type".
func (g *generator) structType(e *emitter, nsid, name, doc string, props map[string]lexicon.SchemaDef, required []string, record bool) error {
	e.comment("", doc)
	if len(props) == 0 && !record {
		e.linef("type %s struct{}\n", name)
		return nil
	}
	e.linef("type %s struct {", name)
	if record {
		e.linef("\t// LexiconTypeID is the record's $type; atcr.ToMap fills it in when empty.")
		e.linef("\tLexiconTypeID string `json:\"$type,omitempty\"`")
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		def := props[key]
		req := slices.Contains(required, key)
		goType, err := g.goType(e, nsid, def.Inner, req)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", name, key, err)
		}
		tag := key
		if !req {
			tag += ",omitempty"
		}
		e.comment("\t", fieldDoc(def.Inner))
		e.linef("\t%s %s `json:%q`", exportName(key), goType, tag)
	}
	e.linef("}\n")
	return nil
}

// goType maps a field schema to its Go type (see the package doc).
func (g *generator) goType(e *emitter, nsid string, inner any, required bool) (string, error) {
	ptr := ""
	if !required {
		ptr = "*"
	}
	switch s := inner.(type) {
	case lexicon.SchemaString:
		return "string", nil
	case lexicon.SchemaInteger:
		return ptr + "int64", nil
	case lexicon.SchemaBoolean:
		return ptr + "bool", nil
	case lexicon.SchemaBlob:
		e.usesAtdata = true
		return ptr + "atdata.Blob", nil
	case lexicon.SchemaBytes:
		e.usesAtdata = true
		return "atdata.Bytes", nil
	case lexicon.SchemaCIDLink:
		e.usesAtdata = true
		return ptr + "atdata.CIDLink", nil
	case lexicon.SchemaUnknown:
		return "map[string]any", nil
	case lexicon.SchemaArray:
		item, err := g.goType(e, nsid, s.Items.Inner, true)
		if err != nil {
			return "", fmt.Errorf("array items: %w", err)
		}
		return "[]" + item, nil
	case lexicon.SchemaRef:
		return g.refType(e, nsid, s.Ref, required)
	case lexicon.SchemaObject:
		return "", fmt.Errorf("inline objects are not supported; declare a named def and ref it")
	case lexicon.SchemaUnion:
		return "", fmt.Errorf("unions are not supported")
	default:
		return "", fmt.Errorf("field type %T is not supported", inner)
	}
}

// refType resolves a ref ("#local" or "nsid#name") to the Go type of its
// target: the generated struct for objects, the target's own type otherwise.
func (g *generator) refType(e *emitter, nsid, ref string, required bool) (string, error) {
	full := ref
	if strings.HasPrefix(ref, "#") {
		full = nsid + ref
	} else if !strings.Contains(ref, "#") {
		full = ref + "#main"
	}
	target, ok := g.defs[full]
	if !ok {
		return "", fmt.Errorf("unresolved ref %q (only refs into the loaded lexicons are supported)", ref)
	}
	targetNSID, targetName, _ := strings.Cut(full, "#")
	switch t := target.Inner.(type) {
	case lexicon.SchemaObject, lexicon.SchemaRecord:
		name := g.defTypeName(targetNSID, targetName)
		if !required {
			name = "*" + name
		}
		return name, nil
	case lexicon.SchemaToken:
		return "string", nil
	default:
		return g.goType(e, targetNSID, t, required)
	}
}

// fieldDoc is a field's description plus the constraints a Go reader needs
// but the type does not show.
func fieldDoc(inner any) string {
	doc := describe(inner)
	if s, ok := inner.(lexicon.SchemaArray); ok {
		inner = s.Items.Inner
	}
	if s, ok := inner.(lexicon.SchemaString); ok {
		if s.Format != nil {
			doc += fmt.Sprintf(" Format: %s.", *s.Format)
		}
		if len(s.KnownValues) > 0 {
			doc += fmt.Sprintf(" Known values: %s.", strings.Join(s.KnownValues, ", "))
		}
		if s.Default != nil {
			doc += fmt.Sprintf(" Default: %s.", *s.Default)
		}
	}
	return strings.TrimSpace(doc)
}

// describe returns the Description of any indigo schema type; they all carry
// one as a *string field.
func describe(schema any) string {
	v := reflect.Indirect(reflect.ValueOf(schema))
	if v.Kind() != reflect.Struct {
		return ""
	}
	f := v.FieldByName("Description")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return ""
	}
	s, _ := f.Elem().Interface().(string)
	return s
}
