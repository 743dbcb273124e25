package index

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

// BskyProfileNSID is the Bluesky profile collection, read for display names
// and avatars.
const BskyProfileNSID = "app.bsky.actor.profile"

// Collections are the record collections the index keeps, the
// wantedCollections of the Jetstream consumer.
var Collections = []string{
	atcr.ManifestNSID, atcr.TagNSID, atcr.RepoPageNSID, atcr.SailorStarNSID,
	atcr.SailorProfileNSID, atcr.HoldCaptainNSID, atcr.HoldCrewNSID, BskyProfileNSID,
}

var (
	// ErrInvalidRecord is wrapped by every *InvalidRecordError.
	ErrInvalidRecord = errors.New("invalid record")
	// ErrUnsupportedCollection: the collection is not one of Collections.
	ErrUnsupportedCollection = errors.New("collection not indexed")
)

// InvalidRecordError is returned for a record (or delete) the index refuses:
// bad DID or record key, a collection it does not keep, or a value that does
// not match its lexicon or the OCI grammars. Nothing was written.
type InvalidRecordError struct {
	DID, Collection, RKey string
	Err                   error
}

func (e *InvalidRecordError) Error() string {
	return fmt.Sprintf("index %s/%s/%s: %v", e.DID, e.Collection, e.RKey, e.Err)
}

// Unwrap makes errors.Is match ErrInvalidRecord and the cause.
func (e *InvalidRecordError) Unwrap() []error { return []error{ErrInvalidRecord, e.Err} }

// Record is one record version to index: its address, the CID of this
// version (may be empty), and its value in the atproto data model, as
// atdata.UnmarshalJSON or atdata.UnmarshalCBOR return it (ParseJSON builds
// it from Jetstream's JSON). The value carries "$type".
type Record struct {
	DID        string
	Collection string
	RKey       string
	CID        string
	Value      map[string]any
}

// ParseJSON builds a Record from a record's JSON, as Jetstream delivers it.
// A value that is not atproto data is an *InvalidRecordError.
func ParseJSON(did, collection, rkey, cid string, raw []byte) (Record, error) {
	r := Record{DID: did, Collection: collection, RKey: rkey, CID: cid}
	v, err := atdata.UnmarshalJSON(raw)
	if err != nil {
		return r, r.invalid(err)
	}
	r.Value = v
	return r, nil
}

func (r Record) invalid(err error) error {
	return &InvalidRecordError{DID: r.DID, Collection: r.Collection, RKey: r.RKey, Err: err}
}

// checkAddress validates the (did, collection, rkey) of a put or delete.
func checkAddress(did, collection, rkey string) (syntax.DID, error) {
	a := Record{DID: did, Collection: collection, RKey: rkey}
	d, err := syntax.ParseDID(did)
	if err != nil {
		return "", a.invalid(err)
	}
	known := false
	for _, c := range Collections {
		known = known || c == collection
	}
	if !known {
		return "", a.invalid(fmt.Errorf("%w: %q", ErrUnsupportedCollection, collection))
	}
	if err := schema.ValidateRecordKey(collection, rkey); err != nil {
		return "", a.invalid(err)
	}
	return d, nil
}

// decode validates r and returns its typed value (*atcr.Manifest, *atcr.Tag,
// … or *bskyProfile).
func decode(r Record) (syntax.DID, any, error) {
	did, err := checkAddress(r.DID, r.Collection, r.RKey)
	if err != nil {
		return "", nil, err
	}
	if r.Value == nil {
		return "", nil, r.invalid(errors.New("no value"))
	}
	if r.Collection == BskyProfileNSID {
		p, err := decodeBskyProfile(r.Value)
		if err != nil {
			return "", nil, r.invalid(err)
		}
		return did, p, nil
	}
	if err := schema.ValidateRecord(r.Collection, r.Value); err != nil {
		return "", nil, r.invalid(err)
	}
	v, _ := atcr.NewRecord(r.Collection) // every indexed io.atcr.* collection has a type
	if err := atcr.FromMap(r.Value, v); err != nil {
		return "", nil, r.invalid(err)
	}
	if err := checkSemantics(did, r.RKey, v); err != nil {
		return "", nil, r.invalid(err)
	}
	return did, v, nil
}

// bskyProfile is the part of app.bsky.actor.profile the UI shows. ATCR does
// not ship that lexicon, so its limits are checked here.
type bskyProfile struct {
	DisplayName string       `json:"displayName"`
	Description string       `json:"description"`
	Avatar      *atdata.Blob `json:"avatar"`
}

// Limits of app.bsky.actor.profile (in bytes, the lexicon's maxLength).
const (
	maxDisplayName = 640
	maxProfileText = 2560
)

func decodeBskyProfile(v map[string]any) (*bskyProfile, error) {
	if t, _ := v["$type"].(string); t != BskyProfileNSID {
		return nil, fmt.Errorf("$type %v, want %s", v["$type"], BskyProfileNSID)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var p bskyProfile
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decode profile: %w", err)
	}
	if len(p.DisplayName) > maxDisplayName || len(p.Description) > maxProfileText {
		return nil, errors.New("displayName or description over the lexicon's length")
	}
	return &p, nil
}
