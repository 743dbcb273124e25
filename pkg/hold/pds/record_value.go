package pds

import (
	"encoding"
	"fmt"
	"math"
	"reflect"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/ipfs/go-cid"
)

// maxRecordDepth bounds nesting of record values (atdata's limit).
const maxRecordDepth = atdata.MAX_CBOR_NESTED_LEVELS

// copyRecord returns a deep copy of rec in the shape atdata.MarshalCBOR
// encodes correctly: integers as int64, CIDs as atdata.CIDLink, blobs as
// atdata.Blob values. Floats are refused: the ATProto data model has none,
// and atdata.MarshalCBOR would encode them anyway. The copy also keeps us from
// mutating the caller's map when $type is set.
func copyRecord(rec map[string]any) (map[string]any, error) {
	out, err := copyMap(rec, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	return out, nil
}

func copyMap(m map[string]any, depth int) (map[string]any, error) {
	if depth > maxRecordDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxRecordDepth)
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k == "" || len(k) > atdata.MAX_OBJECT_KEY_LEN {
			return nil, fmt.Errorf("invalid object key %q", k)
		}
		c, err := copyValue(v, depth+1)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

func copyList(l []any, depth int) ([]any, error) {
	if len(l) > atdata.MAX_CBOR_CONTAINER_LEN {
		return nil, fmt.Errorf("array longer than %d", atdata.MAX_CBOR_CONTAINER_LEN)
	}
	out := make([]any, len(l))
	for i, v := range l {
		c, err := copyValue(v, depth+1)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out[i] = c
	}
	return out, nil
}

func copyValue(v any, depth int) (any, error) {
	if depth > maxRecordDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxRecordDepth)
	}
	switch x := v.(type) {
	case nil, bool, string, int64:
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		return uintToInt64(uint64(x))
	case uint64:
		return uintToInt64(x)
	case float32, float64:
		return nil, fmt.Errorf("floats are not allowed in records (got %v)", x)
	case []byte:
		return atdata.Bytes(append([]byte(nil), x...)), nil
	case atdata.Bytes:
		return atdata.Bytes(append([]byte(nil), x...)), nil
	case cid.Cid:
		return atdata.CIDLink(x), nil
	case *cid.Cid:
		if x == nil {
			return nil, nil
		}
		return atdata.CIDLink(*x), nil
	case atdata.CIDLink:
		return x, nil
	case atdata.Blob:
		return x, nil
	case *atdata.Blob:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	case map[string]any:
		return copyMap(x, depth)
	case []any:
		return copyList(x, depth)
	case encoding.TextMarshaler: // syntax.DID, syntax.ATURI, syntax.Datetime …
		b, err := x.MarshalText()
		if err != nil {
			return nil, fmt.Errorf("marshal %T: %w", x, err)
		}
		return string(b), nil
	default:
		return copyReflect(reflect.ValueOf(v), depth)
	}
}

// copyReflect handles the Go shapes callers naturally build: named string and
// integer types (syntax.NSID, enums), pointers for optional fields, typed
// slices and string-keyed maps (annotations).
func copyReflect(rv reflect.Value, depth int) (any, error) {
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return uintToInt64(rv.Uint())
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return copyValue(rv.Elem().Interface(), depth)
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 { // named byte slices are bytes, like []byte
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return atdata.Bytes(b), nil
		}
		l := make([]any, rv.Len())
		for i := range l {
			l[i] = rv.Index(i).Interface()
		}
		return copyList(l, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map keys must be strings, got %s", rv.Type())
		}
		m := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			m[iter.Key().String()] = iter.Value().Interface()
		}
		return copyMap(m, depth)
	}
	return nil, fmt.Errorf("unsupported value type %s", rv.Type())
}

func uintToInt64(u uint64) (any, error) {
	if u > math.MaxInt64 {
		return nil, fmt.Errorf("integer %d overflows int64", u)
	}
	return int64(u), nil
}
