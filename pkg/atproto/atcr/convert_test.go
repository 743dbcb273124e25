package atcr_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/ipfs/go-cid"

	"atcr.io/pkg/atproto/atcr"
)

func testBlob(t *testing.T, mime string, size int64) atdata.Blob {
	t.Helper()
	c, err := cid.Decode("bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy")
	if err != nil {
		t.Fatal(err)
	}
	return atdata.Blob{Ref: atdata.CIDLink(c), MimeType: mime, Size: size}
}

func TestToMapRecord(t *testing.T) {
	blob := testBlob(t, "application/vnd.oci.image.manifest.v1+json", 527)
	m, err := atcr.ToMap(&atcr.Manifest{
		Repository:    "myapp",
		Digest:        "sha256:4c2e8b1a",
		MediaType:     "application/vnd.oci.image.manifest.v1+json",
		SchemaVersion: 2,
		CreatedAt:     "2026-01-02T03:04:05Z",
		ManifestBlob:  &blob,
		Layers:        []atcr.Manifest_BlobReference{{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: "sha256:aa", Size: 10}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m["$type"] != atcr.ManifestNSID {
		t.Errorf("$type = %v, want %s", m["$type"], atcr.ManifestNSID)
	}
	if got, ok := m["schemaVersion"].(int64); !ok || got != 2 {
		t.Errorf("schemaVersion = %#v, want int64 2", m["schemaVersion"])
	}
	if got, ok := m["manifestBlob"].(atdata.Blob); !ok || !reflect.DeepEqual(got, blob) {
		t.Errorf("manifestBlob = %#v, want atdata.Blob %v", m["manifestBlob"], blob)
	}
	for _, absent := range []string{"holdDid", "config", "subject", "annotations", "manifests"} {
		if _, ok := m[absent]; ok {
			t.Errorf("optional field %s present in %v", absent, m)
		}
	}

	// The map must survive the hold's encoding path: DAG-CBOR and back.
	raw, err := atdata.MarshalCBOR(m)
	if err != nil {
		t.Fatalf("MarshalCBOR: %v", err)
	}
	back, err := atdata.UnmarshalCBOR(raw)
	if err != nil {
		t.Fatalf("UnmarshalCBOR: %v", err)
	}
	var decoded atcr.Manifest
	if err := atcr.FromMap(back, &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.ManifestBlob == nil || !reflect.DeepEqual(*decoded.ManifestBlob, blob) || decoded.SchemaVersion != 2 || len(decoded.Layers) != 1 {
		t.Errorf("CBOR round trip lost data: %+v", decoded)
	}
	if decoded.LexiconTypeID != atcr.ManifestNSID {
		t.Errorf("LexiconTypeID = %q after decode", decoded.LexiconTypeID)
	}
}

func TestToMapKeepsZeroOptionalIntegers(t *testing.T) {
	zero := int64(0)
	m, err := atcr.ToMap(atcr.HoldNotifyManifest_Output{LayersRecorded: 0, QuotaUsed: &zero})
	if err != nil {
		t.Fatal(err)
	}
	if m["quotaUsed"] != int64(0) || m["layersRecorded"] != int64(0) {
		t.Errorf("zero integers lost: %v", m)
	}
	if _, ok := m["quotaLimit"]; ok {
		t.Errorf("absent quotaLimit was written: %v", m)
	}
	if _, ok := m["$type"]; ok {
		t.Errorf("an XRPC body got a $type: %v", m)
	}
}

func TestTypeMismatch(t *testing.T) {
	_, err := atcr.ToMap(atcr.Tag{LexiconTypeID: atcr.ManifestNSID, Repository: "a", Tag: "b", CreatedAt: "2026-01-02T03:04:05Z"})
	if !errors.Is(err, atcr.ErrTypeMismatch) {
		t.Errorf("ToMap with foreign $type: err = %v, want ErrTypeMismatch", err)
	}
	var tag atcr.Tag
	err = atcr.FromMap(map[string]any{"$type": atcr.ManifestNSID, "repository": "a"}, &tag)
	if !errors.Is(err, atcr.ErrTypeMismatch) {
		t.Errorf("FromMap of a manifest into a Tag: err = %v, want ErrTypeMismatch", err)
	}
}

func TestFromMapIgnoresUnknownFields(t *testing.T) {
	var star atcr.SailorStar
	err := atcr.FromMap(map[string]any{
		"$type":     atcr.SailorStarNSID,
		"subject":   "at://did:plc:abc/io.atcr.repo.page/myapp",
		"createdAt": "2026-01-02T03:04:05Z",
		"futureFld": map[string]any{"x": int64(1)},
	}, &star)
	if err != nil {
		t.Fatal(err)
	}
	if star.Subject != "at://did:plc:abc/io.atcr.repo.page/myapp" {
		t.Errorf("subject = %q", star.Subject)
	}
}

func TestToMapRejectsNonObjects(t *testing.T) {
	for name, v := range map[string]any{"nil record pointer": (*atcr.Tag)(nil), "nil": nil, "string": "x", "slice": []string{"a"}} {
		if _, err := atcr.ToMap(v); err == nil {
			t.Errorf("ToMap(%s): want error", name)
		}
	}
}

func TestFromMapWrongFieldType(t *testing.T) {
	var layer atcr.HoldLayer
	if err := atcr.FromMap(map[string]any{"size": "big"}, &layer); err == nil {
		t.Error("string into an integer field: want error")
	}
}

func TestRegistry(t *testing.T) {
	for _, c := range atcr.RecordCollections() {
		v, ok := atcr.NewRecord(c)
		if !ok {
			t.Errorf("NewRecord(%s) = false", c)
			continue
		}
		r, ok := v.(interface{ NSID() string })
		if !ok || r.NSID() != c {
			t.Errorf("NewRecord(%s) returned %T with the wrong NSID", c, v)
		}
	}
	if _, ok := atcr.NewRecord(atcr.HoldInitiateUploadNSID); ok {
		t.Error("a procedure NSID yielded a record type")
	}
	if _, ok := atcr.NewInput(atcr.HoldUploadPartNSID); ok {
		t.Error("uploadPart takes raw bytes and must have no JSON input type")
	}
	if v, ok := atcr.NewInput(atcr.HoldCompleteUploadNSID); !ok || reflect.TypeOf(v) != reflect.TypeOf(&atcr.HoldCompleteUpload_Input{}) {
		t.Errorf("NewInput(completeUpload) = %T, %v", v, ok)
	}
	if v, ok := atcr.NewOutput(atcr.HoldListTiersNSID); !ok || reflect.TypeOf(v) != reflect.TypeOf(&atcr.HoldListTiers_Output{}) {
		t.Errorf("NewOutput(listTiers) = %T, %v", v, ok)
	}
}
