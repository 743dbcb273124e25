package schema

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/bluesky-social/indigo/atproto/lexicon"
)

// ValidateInput checks the JSON input body of an io.atcr.* procedure.
// NSIDs outside io.atcr.* return nil.
func ValidateInput(nsid string, body map[string]any) error {
	return validateBody(nsid, "input", body)
}

// ValidateOutput checks the JSON output body of an io.atcr.* query or
// procedure, e.g. in a client or in handler tests. NSIDs outside io.atcr.*
// return nil.
func ValidateOutput(nsid string, body map[string]any) error {
	return validateBody(nsid, "output", body)
}

// ValidateParams checks the query parameters of an io.atcr.* query or
// procedure: required ones present, each converted to its declared type
// (integer, boolean, string, or an array of these) and within its limits.
// Parameters the lexicon does not declare are ignored. NSIDs outside
// io.atcr.* return nil.
func ValidateParams(nsid string, query url.Values) error {
	cat, m, err := resolveMethod(nsid)
	if err != nil || m == nil || m.params == nil {
		return err
	}
	params := m.params
	data := make(map[string]any, len(query))
	for name, prop := range params.Properties {
		vals, ok := query[name]
		if !ok {
			continue
		}
		v, err := convertParam(prop.Inner, vals)
		if err != nil {
			return fmt.Errorf("%s: %w: parameter %s: %w", nsid, ErrInvalid, name, err)
		}
		data[name] = v
	}
	obj := lexicon.SchemaObject{Type: "object", Properties: params.Properties, Required: params.Required}
	return validateObject(cat, nsid, "params", obj, data)
}

// method is what validation needs of a query or procedure definition.
type method struct {
	params        *lexicon.SchemaParams
	input, output *lexicon.SchemaBody // input is nil for a query
	query         bool
}

// resolveMethod returns the catalog and main definition of an io.atcr.*
// query or procedure; the method is nil (with no error) for NSIDs outside
// io.atcr.*, which callers leave unchecked.
func resolveMethod(nsid string) (lexicon.Catalog, *method, error) {
	ours, err := owned(nsid)
	if err != nil || !ours {
		return nil, nil, err
	}
	cat, def, err := resolveMain(nsid)
	if err != nil {
		return nil, nil, err
	}
	switch s := def.(type) {
	case lexicon.SchemaQuery:
		return cat, &method{params: s.Parameters, output: s.Output, query: true}, nil
	case lexicon.SchemaProcedure:
		return cat, &method{params: s.Parameters, input: s.Input, output: s.Output}, nil
	}
	return nil, nil, fmt.Errorf("%w: %s is not a query or procedure", ErrUnknownLexicon, nsid)
}

// validateBody finds the input or output schema of an owned method and
// validates body against it.
func validateBody(nsid, which string, body map[string]any) error {
	cat, m, err := resolveMethod(nsid)
	if err != nil || m == nil {
		return err
	}
	schemaBody := m.output
	if which == "input" {
		if m.query {
			return fmt.Errorf("%w: %s is a query and takes no input", ErrUnknownLexicon, nsid)
		}
		schemaBody = m.input
	}
	if schemaBody == nil || schemaBody.Schema == nil {
		return fmt.Errorf("%w: %s declares no JSON %s schema", ErrUnknownLexicon, nsid, which)
	}
	var obj lexicon.SchemaObject
	switch s := schemaBody.Schema.Inner.(type) {
	case lexicon.SchemaObject:
		obj = s
	case lexicon.SchemaRef:
		ref := s.Ref
		if strings.HasPrefix(ref, "#") {
			ref = nsid + ref
		}
		target, err := cat.Resolve(ref)
		if err != nil {
			return fmt.Errorf("%w: %s %s ref %s", ErrUnknownLexicon, nsid, which, s.Ref)
		}
		var ok bool
		if obj, ok = target.Def.(lexicon.SchemaObject); !ok {
			return fmt.Errorf("%w: %s %s ref %s is not an object", ErrUnknownLexicon, nsid, which, s.Ref)
		}
	default:
		return fmt.Errorf("%w: %s %s schema %T is not supported", ErrUnknownLexicon, nsid, which, s)
	}
	data, err := normalize(body)
	if err != nil {
		return fmt.Errorf("%s %s: %w: %w", nsid, which, ErrInvalid, err)
	}
	return validateObject(cat, nsid, which, obj, data)
}

// validateObject runs indigo's validator over data as an object of schema
// obj. indigo exports validation only for records, so obj is presented as
// the record type of a synthetic ref ("<nsid>#$input"; "$" cannot occur in a
// real def name) that a wrapping catalog resolves; nested refs still resolve
// through the real catalog.
func validateObject(cat lexicon.Catalog, nsid, which string, obj lexicon.SchemaObject, data map[string]any) error {
	ref := nsid + "#$" + which
	wrapped := bodyCatalog{Catalog: cat, ref: ref, def: lexicon.SchemaRecord{Type: "record", Key: "any", Record: obj}}
	withType := make(map[string]any, len(data)+1)
	for k, v := range data {
		withType[k] = v
	}
	withType["$type"] = ref
	if err := lexicon.ValidateRecord(wrapped, withType, ref, strict); err != nil {
		return fmt.Errorf("%s %s: %w: %w", nsid, which, ErrInvalid, err)
	}
	return nil
}

// bodyCatalog resolves one synthetic ref to a given definition and every
// other ref through the wrapped catalog.
type bodyCatalog struct {
	lexicon.Catalog
	ref string
	def lexicon.SchemaRecord
}

func (c bodyCatalog) Resolve(ref string) (*lexicon.Schema, error) {
	if ref == c.ref {
		return &lexicon.Schema{ID: ref, Def: c.def}, nil
	}
	return c.Catalog.Resolve(ref)
}

// convertParam turns the string values of one query parameter into the Go
// type the validator expects for its schema.
func convertParam(schema any, vals []string) (any, error) {
	if arr, ok := schema.(lexicon.SchemaArray); ok {
		out := make([]any, 0, len(vals))
		for _, v := range vals {
			item, err := convertScalar(arr.Items.Inner, v)
			if err != nil {
				return nil, err
			}
			out = append(out, item)
		}
		return out, nil
	}
	if len(vals) != 1 {
		return nil, fmt.Errorf("given %d times, want once", len(vals))
	}
	return convertScalar(schema, vals[0])
}

func convertScalar(schema any, v string) (any, error) {
	switch schema.(type) {
	case lexicon.SchemaInteger:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not an integer: %q", v)
		}
		return n, nil
	case lexicon.SchemaBoolean:
		switch v {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("not a boolean: %q", v)
	case lexicon.SchemaString:
		return v, nil
	default:
		return nil, fmt.Errorf("parameter type %T is not supported", schema)
	}
}

// ValidateObject checks data against an object def of an io.atcr.*
// lexicon, named "<nsid>#<name>": a message of a subscription
// (io.atcr.hold.subscribeScanJobs#scanResult), which has no input or output
// body to validate as. Refs outside io.atcr.* return nil.
func ValidateObject(ref string, data map[string]any) error {
	nsid, name, ok := strings.Cut(ref, "#")
	if !ok || name == "" || name == "main" {
		return fmt.Errorf("%w: %q names no secondary def", ErrUnknownLexicon, ref)
	}
	ours, err := owned(nsid)
	if err != nil || !ours {
		return err
	}
	cat, err := loadCatalog()
	if err != nil {
		return err
	}
	s, err := cat.Resolve(ref)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrUnknownLexicon, ref)
	}
	obj, ok := s.Def.(lexicon.SchemaObject)
	if !ok {
		return fmt.Errorf("%w: %s is not an object", ErrUnknownLexicon, ref)
	}
	norm, err := normalize(data)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", ref, ErrInvalid, err)
	}
	return validateObject(cat, nsid, name, obj, norm)
}
