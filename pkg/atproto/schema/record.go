package schema

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/lexicon"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ValidateRecord checks a record against the lexicon of its collection
// before it is written. The record may be any JSON-shaped map (from
// atcr.ToMap, atdata.UnmarshalJSON/CBOR or built by hand); it must carry
// "$type" equal to collection. Collections outside io.atcr.* return nil;
// an io.atcr.* collection without a record lexicon returns ErrUnknownLexicon;
// a mismatch returns an error wrapping ErrInvalid.
func ValidateRecord(collection string, record map[string]any) error {
	ours, err := owned(collection)
	if err != nil || !ours {
		return err
	}
	cat, _, err := resolveRecord(collection)
	if err != nil {
		return err
	}
	data, err := normalize(record)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", collection, ErrInvalid, err)
	}
	if _, ok := data["$type"]; !ok {
		return fmt.Errorf("%s: %w: record has no $type (atcr.ToMap sets it)", collection, ErrInvalid)
	}
	if err := lexicon.ValidateRecord(cat, data, collection, strict); err != nil {
		return fmt.Errorf("%s: %w: %w", collection, ErrInvalid, err)
	}
	return nil
}

// ValidateRecordKey checks a record key against the key type its collection
// declares (tid, literal:self, any). For collections outside io.atcr.* only
// the generic record-key syntax is checked.
func ValidateRecordKey(collection, rkey string) error {
	if _, err := syntax.ParseRecordKey(rkey); err != nil {
		return fmt.Errorf("%s: %w: record key: %w", collection, ErrInvalid, err)
	}
	ours, err := owned(collection)
	if err != nil || !ours {
		return err
	}
	_, rec, err := resolveRecord(collection)
	if err != nil {
		return err
	}
	switch key := rec.Key; {
	case key == "tid":
		_, err = syntax.ParseTID(rkey)
	case key == "nsid":
		_, err = syntax.ParseNSID(rkey)
	case strings.HasPrefix(key, "literal:"):
		if want := strings.TrimPrefix(key, "literal:"); rkey != want {
			err = fmt.Errorf("must be %q", want)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w: record key %q (key type %s): %w", collection, ErrInvalid, rkey, rec.Key, err)
	}
	return nil
}

// normalize re-reads data through atdata so the validator sees the data
// model's Go types (int64, atdata.Blob, atdata.CIDLink) whatever the caller
// built the map from; it also enforces atdata's size limits.
func normalize(data map[string]any) (map[string]any, error) {
	if data == nil {
		return nil, fmt.Errorf("no data")
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	out, err := atdata.UnmarshalJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("atproto data model: %w", err)
	}
	return out, nil
}
