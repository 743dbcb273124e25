package schema_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/lexicon"
	"github.com/ipfs/go-cid"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

// TestGeneratedTypesRoundTrip fills every record, input and output schema
// with sample data derived from the lexicon itself (all properties, then only
// the required ones), decodes it into the generated Go type, encodes it back
// with atcr.ToMap and requires the identical map, which must validate. A
// field missing from a Go type, a wrong JSON name or type, or a missing
// omitempty all show up as a difference.
func TestGeneratedTypesRoundTrip(t *testing.T) {
	cat, err := schema.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	s := sampler{t: t, cat: cat}
	for nsid := range lexiconKinds {
		def, err := cat.Resolve(nsid)
		if err != nil {
			t.Fatal(err)
		}
		switch d := def.Def.(type) {
		case lexicon.SchemaRecord:
			for _, full := range []bool{true, false} {
				data := s.object(nsid, d.Record, full)
				data["$type"] = nsid
				v, ok := atcr.NewRecord(nsid)
				if !ok {
					t.Fatalf("no Go type for record %s", nsid)
				}
				out := roundTrip(t, nsid, data, v)
				if err := schema.ValidateRecord(nsid, out); err != nil {
					t.Errorf("%s (full=%v): %v", nsid, full, err)
				}
			}
		case lexicon.SchemaProcedure:
			s.body(nsid, "input", d.Input, atcr.NewInput, schema.ValidateInput)
			s.body(nsid, "output", d.Output, atcr.NewOutput, schema.ValidateOutput)
		case lexicon.SchemaQuery:
			s.body(nsid, "output", d.Output, atcr.NewOutput, schema.ValidateOutput)
			if _, ok := atcr.NewInput(nsid); ok {
				t.Errorf("query %s has an input type", nsid)
			}
		}
	}
}

func roundTrip(t *testing.T, nsid string, data map[string]any, v any) map[string]any {
	t.Helper()
	if err := atcr.FromMap(data, v); err != nil {
		t.Fatalf("%s: FromMap: %v", nsid, err)
	}
	out, err := atcr.ToMap(v)
	if err != nil {
		t.Fatalf("%s: ToMap: %v", nsid, err)
	}
	if !reflect.DeepEqual(out, data) {
		t.Errorf("%s (%T) did not round-trip:\n in: %#v\nout: %#v", nsid, v, data, out)
	}
	return out
}

type sampler struct {
	t   *testing.T
	cat lexicon.Catalog
}

// body round-trips the JSON body of a method, or checks that a method
// without a JSON body schema has no Go type for it.
func (s sampler) body(nsid, which string, b *lexicon.SchemaBody, newType func(string) (any, bool), validate func(string, map[string]any) error) {
	v, ok := newType(nsid)
	if b == nil || b.Schema == nil {
		if ok {
			s.t.Errorf("%s has a Go %s type but no JSON %s schema", nsid, which, which)
		}
		return
	}
	if !ok {
		s.t.Fatalf("no Go %s type for %s", which, nsid)
	}
	obj, isObj := b.Schema.Inner.(lexicon.SchemaObject)
	if !isObj {
		s.t.Fatalf("%s %s is not an inline object", nsid, which)
	}
	for _, full := range []bool{true, false} {
		v, _ = newType(nsid)
		out := roundTrip(s.t, nsid+" "+which, s.object(nsid, obj, full), v)
		if err := validate(nsid, out); err != nil {
			s.t.Errorf("%s %s (full=%v): %v", nsid, which, full, err)
		}
	}
}

func (s sampler) object(nsid string, o lexicon.SchemaObject, full bool) map[string]any {
	m := map[string]any{}
	for name, def := range o.Properties {
		if full || slices.Contains(o.Required, name) {
			m[name] = s.value(nsid, def.Inner, full)
		}
	}
	return m
}

func (s sampler) value(nsid string, inner any, full bool) any {
	switch d := inner.(type) {
	case lexicon.SchemaString:
		return sampleString(d)
	case lexicon.SchemaInteger:
		n := 7
		if d.Minimum != nil {
			n = max(n, *d.Minimum)
		}
		if d.Maximum != nil {
			n = min(n, *d.Maximum)
		}
		return int64(n)
	case lexicon.SchemaBoolean:
		return true
	case lexicon.SchemaBlob:
		mime := "application/octet-stream"
		if len(d.Accept) > 0 {
			mime = strings.Replace(d.Accept[0], "*", "x-sample", 1)
		}
		c, err := cid.Decode("bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy")
		if err != nil {
			s.t.Fatal(err)
		}
		return atdata.Blob{Ref: atdata.CIDLink(c), MimeType: mime, Size: 1}
	case lexicon.SchemaUnknown:
		return map[string]any{"key": "value"}
	case lexicon.SchemaArray:
		return []any{s.value(nsid, d.Items.Inner, full)}
	case lexicon.SchemaObject:
		return s.object(nsid, d, full)
	case lexicon.SchemaRef:
		ref := d.Ref
		if strings.HasPrefix(ref, "#") {
			ref = nsid + ref
		}
		target, err := s.cat.Resolve(ref)
		if err != nil {
			s.t.Fatalf("%s: %v", ref, err)
		}
		targetNSID, _, _ := strings.Cut(target.ID, "#")
		return s.value(targetNSID, target.Def, full)
	}
	s.t.Fatalf("%s: no sample for %T", nsid, inner)
	return nil
}

func sampleString(d lexicon.SchemaString) string {
	if d.Format != nil {
		switch *d.Format {
		case "did":
			return did
		case "at-uri":
			return atURI
		case "datetime":
			return "2026-03-01T12:00:00Z"
		case "uri":
			return "https://example.com/x"
		case "cid":
			return "bafyreibg3cq5gxh7me5mvbzjautjfrtmcee2j5sev5rglwku2wnyblariq"
		case "handle":
			return "alice.example.com"
		}
	}
	if len(d.KnownValues) > 0 {
		return d.KnownValues[0]
	}
	v := "sample"
	if d.MaxLength != nil && len(v) > *d.MaxLength {
		v = v[:*d.MaxLength]
	}
	return v
}
