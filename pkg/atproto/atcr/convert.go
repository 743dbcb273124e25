package atcr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atdata"
)

// ErrTypeMismatch is returned when a map's "$type" names a different
// collection than the record type it is converted to or from.
var ErrTypeMismatch = errors.New("$type does not match the record type")

// record is implemented by every generated record type.
type record interface {
	NSID() string
}

// ToMap converts a generated type (or any JSON-marshalable value) into the
// generic map form of the atproto data model, as atdata.UnmarshalJSON
// produces it: integers are int64, blobs atdata.Blob, {"$link"} atdata.CIDLink.
// The map is ready for atdata.MarshalCBOR and schema.ValidateRecord. For
// record types "$type" is set to the collection when empty.
func ToMap(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	if bytes.Equal(raw, []byte("null")) {
		return nil, fmt.Errorf("convert %T: value is nil", v)
	}
	m, err := atdata.UnmarshalJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("convert %T to atproto data: %w", v, err)
	}
	if r, ok := v.(record); ok {
		switch t := m["$type"]; t {
		case nil:
			m["$type"] = r.NSID()
		case r.NSID():
		default:
			return nil, fmt.Errorf("%w: %T has $type %v, want %s", ErrTypeMismatch, v, t, r.NSID())
		}
	}
	return m, nil
}

// FromMap fills v (a pointer to a generated type) from a record or body map,
// such as one decoded by atdata.UnmarshalCBOR or returned by ToMap. Unknown
// fields are ignored, as atproto requires for forward compatibility. When v
// is a record type, a "$type" naming another collection is an error.
func FromMap(m map[string]any, v any) error {
	if r, ok := v.(record); ok {
		if t, present := m["$type"]; present && t != r.NSID() {
			return fmt.Errorf("%w: map has $type %v, want %s", ErrTypeMismatch, t, r.NSID())
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal map: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("unmarshal into %T: %w", v, err)
	}
	return nil
}
