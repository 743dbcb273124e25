package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// UnmarshalExact decodes raw, a JSON object already decoded generically
// as decoded (what the lexicon validation read), into dst like
// json.Unmarshal, but refuses a key that names one of dst's fields only
// case-insensitively ("PartNumber" for "partNumber"), at any depth.
// encoding/json matches field names case-insensitively, the last match
// winning, while the lexicon validation sees exact keys: without this check
// {"partNumber":1,"PartNumber":0} would pass as 1 and decode as 0.
func UnmarshalExact(raw []byte, decoded any, dst any) error {
	if err := exactKeys(decoded, reflect.TypeOf(dst), ""); err != nil {
		return err
	}
	return json.Unmarshal(raw, dst)
}

// exactKeys walks v (decoded JSON) alongside the Go type it decodes into.
func exactKeys(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch val := v.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return nil // a map or interface field takes any key
		}
		fields := jsonFields(t)
		for key, child := range val {
			f, exact := fields[key]
			if !exact {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return fmt.Errorf("%s%q: keys are case-sensitive, the field is %q", path, key, name)
					}
				}
				continue // unknown keys are the lexicon's to allow
			}
			if err := exactKeys(child, f.Type, path+key+"."); err != nil {
				return err
			}
		}
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil
		}
		for i, child := range val {
			if err := exactKeys(child, t.Elem(), fmt.Sprintf("%s%d.", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonFields maps the JSON names of t's exported fields to the fields
// (embedded structs are not used by the generated types).
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	fields := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = f
	}
	return fields
}
