package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var (
	durationType    = reflect.TypeFor[time.Duration]()
	byteSizeType    = reflect.TypeFor[ByteSize]()
	stringSliceType = reflect.TypeFor[[]string]()
)

// field is one entry of a config struct: either a section (a nested struct,
// written as a YAML mapping) or a key holding a value.
type field struct {
	path    string        // dotted YAML path, e.g. "storage.bucket"
	name    string        // last path element, e.g. "bucket"
	depth   int           // 0 for top-level entries
	env     string        // env tag; "" for sections
	comment string        // comment tag
	section bool          // nested struct
	value   reflect.Value // addressable when the walked value was addressable
}

// walkFields calls visit for every section and key of the struct v in
// declaration order, parents before children. It is the single description
// of the config layout used by the env overlay, the template writer and the
// tests that check every key is documented.
func walkFields(v reflect.Value, visit func(field) error) error {
	return walkStruct(v, "", 0, visit)
}

func walkStruct(v reflect.Value, prefix string, depth int, visit func(field) error) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" {
			return fmt.Errorf("field %s.%s has no yaml tag", t.Name(), sf.Name)
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		f := field{
			path:    path,
			name:    name,
			depth:   depth,
			env:     sf.Tag.Get("env"),
			comment: sf.Tag.Get("comment"),
			section: sf.Type.Kind() == reflect.Struct,
			value:   v.Field(i),
		}
		if err := visit(f); err != nil {
			return err
		}
		if f.section {
			if err := walkStruct(f.value, path, depth+1, visit); err != nil {
				return err
			}
		}
	}
	return nil
}

// setFromString parses raw according to v's type and stores it in v.
// Lists are space separated, like shell words without quoting.
func setFromString(v reflect.Value, raw string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("cannot parse %q as a duration (like 30s or 1h)", raw)
		}
		v.SetInt(int64(d))
		return nil
	case v.Type() == byteSizeType:
		b, err := ParseByteSize(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(b))
		return nil
	case v.Type() == stringSliceType:
		v.Set(reflect.ValueOf(strings.Fields(raw)))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("cannot parse %q as a bool (true or false)", raw)
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.ParseInt(raw, 10, 0)
		if err != nil {
			return fmt.Errorf("cannot parse %q as an integer", raw)
		}
		v.SetInt(n)
	default:
		return fmt.Errorf("unsupported config type %s", v.Type())
	}
	return nil
}

// formatValue renders v as a YAML scalar or flow sequence that decodes back
// to the same value.
func formatValue(v reflect.Value) (string, error) {
	switch {
	case v.Type() == durationType:
		return formatDuration(time.Duration(v.Int())), nil
	case v.Type() == byteSizeType:
		return ByteSize(v.Int()).String(), nil
	case v.Type() == stringSliceType:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = strconv.Quote(v.Index(i).String())
		}
		return "[" + strings.Join(items, ", ") + "]", nil
	}
	switch v.Kind() {
	case reflect.String:
		// A Go quoted string is a valid YAML double-quoted scalar.
		return strconv.Quote(v.String()), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10), nil
	}
	return "", fmt.Errorf("unsupported config type %s", v.Type())
}

// formatDuration writes "24h" rather than time.Duration's "24h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
