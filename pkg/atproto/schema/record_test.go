package schema_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

func TestValidFixtures(t *testing.T) {
	entries, err := os.ReadDir("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".json")
		data := fixture(t, name)
		collection, _ := data["$type"].(string)
		covered[collection] = true
		if err := schema.ValidateRecord(collection, data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, c := range atcr.RecordCollections() {
		if !covered[c] {
			t.Errorf("no valid fixture for %s in testdata/valid", c)
		}
	}
}

// TestRecordRules checks the rules of section 2 of the upstream inventory
// against the lexicons: each case edits a valid fixture and says whether the
// result must still validate.
func TestRecordRules(t *testing.T) {
	cases := []struct {
		fixture string
		edit    edit
		valid   bool
	}{
		// io.atcr.manifest
		{"io.atcr.manifest", del("repository"), false},
		{"io.atcr.manifest", del("digest"), false},
		{"io.atcr.manifest", del("mediaType"), false},
		{"io.atcr.manifest", del("schemaVersion"), false},
		{"io.atcr.manifest", del("createdAt"), false},
		{"io.atcr.manifest", del("holdDid"), true},
		{"io.atcr.manifest", del("manifestBlob"), true},
		{"io.atcr.manifest", set("repository", long(255)), true},
		{"io.atcr.manifest", set("repository", long(256)), false},
		{"io.atcr.manifest", set("digest", long(161)), false},
		{"io.atcr.manifest", set("schemaVersion", "2"), false},
		{"io.atcr.manifest", set("schemaVersion", int64(0)), false},
		{"io.atcr.manifest", set("holdDid", "hold01.atcr.io"), false},
		{"io.atcr.manifest", set("holdEndpoint", "https://hold01.atcr.io"), true},
		{"io.atcr.manifest", set("holdEndpoint", "hold01 atcr io"), false},
		{"io.atcr.manifest", set("createdAt", "2026-03-01 12:00:00"), false},
		{"io.atcr.manifest", set("createdAt", "2026-03-01T12:00:00"), false},                  // no timezone
		{"io.atcr.manifest", set("mediaType", "application/vnd.example.thing.v1+json"), true}, // knownValues are open
		{"io.atcr.manifest", set("layers.0.size", int64(-1)), false},
		{"io.atcr.manifest", del("layers.0.digest"), false},
		{"io.atcr.manifest", set("layers", "sha256:bb22"), false},
		{"io.atcr.manifest", set("config.size", "1469"), false},
		{"io.atcr.manifest", set("annotations", "not an object"), false},
		{"io.atcr.manifest", set("manifestBlob", blob("text/plain", 10)), false},
		{"io.atcr.manifest", set("manifestBlob", blob("application/vnd.oci.image.manifest.v1+json", 4194305)), false},
		{"io.atcr.manifest", set("$type", "io.atcr.tag"), false},
		{"io.atcr.manifest", del("$type"), false},
		{"io.atcr.manifest.index", del("manifests.0.platform.architecture"), false},
		{"io.atcr.manifest.index", set("manifests.1.platform.osFeatures", []any{int64(1)}), false},
		// io.atcr.tag
		{"io.atcr.tag", del("tag"), false},
		{"io.atcr.tag", del("manifest"), true},
		{"io.atcr.tag", set("tag", long(128)), true},
		{"io.atcr.tag", set("tag", long(129)), false},
		{"io.atcr.tag", set("manifest", "https://example.com/manifest"), false},
		{"io.atcr.tag", set("manifestDigest", "sha256:abc"), true},
		// io.atcr.sailor.profile
		{"io.atcr.sailor.profile", del("defaultHold"), true},
		{"io.atcr.sailor.profile", set("defaultHold", "https://hold01.atcr.io"), true}, // legacy URL form
		{"io.atcr.sailor.profile", set("defaultHold", long(2049)), false},
		{"io.atcr.sailor.profile", del("createdAt"), false},
		// io.atcr.sailor.star
		{"io.atcr.sailor.star", set("subject", "did:plc:ewvi7nxzyoun6zhxrhs64oiz"), false},
		{"io.atcr.sailor.star", del("subject"), false},
		// io.atcr.repo.page
		{"io.atcr.repo.page", set("description", long(100000)), true},
		{"io.atcr.repo.page", set("description", long(100001)), false},
		{"io.atcr.repo.page", set("avatar", blob("image/gif", 10)), false},
		{"io.atcr.repo.page", set("avatar", blob("image/png", 3000001)), false},
		{"io.atcr.repo.page", del("repository"), false},
		// io.atcr.hold (legacy)
		{"io.atcr.hold", set("endpoint", "not a url"), false},
		{"io.atcr.hold", set("public", "yes"), false},
		{"io.atcr.hold", del("endpoint"), false},
		// io.atcr.hold.captain
		{"io.atcr.hold.captain", set("owner", "alice.example.com"), false},
		{"io.atcr.hold.captain", del("public"), false},
		{"io.atcr.hold.captain", set("allowAllCrew", "true"), false},
		{"io.atcr.hold.captain", set("region", long(65)), false},
		{"io.atcr.hold.captain", del("successor"), true},
		{"io.atcr.hold.captain", set("successor", "hold02"), false},
		// io.atcr.hold.crew
		{"io.atcr.hold.crew", set("member", "did:bad"), false},
		{"io.atcr.hold.crew", set("role", "quartermaster"), true}, // open knownValues
		{"io.atcr.hold.crew", set("role", long(33)), false},
		{"io.atcr.hold.crew", set("permissions", "blob:read"), false},
		{"io.atcr.hold.crew", set("permissions", []any{int64(1)}), false},
		{"io.atcr.hold.crew", set("permissions", []any{"blob:delete"}), true},
		{"io.atcr.hold.crew", del("tier"), true},
		{"io.atcr.hold.crew", del("addedAt"), false},
		// io.atcr.hold.layer
		{"io.atcr.hold.layer", set("size", "3623807"), false},
		{"io.atcr.hold.layer", set("manifest", "io.atcr.manifest/3l4qpz7ajrc2a"), false},
		{"io.atcr.hold.layer", set("userHandle", "not a handle!"), false},
		{"io.atcr.hold.layer", del("userDid"), false},
		{"io.atcr.hold.layer", del("repository"), true},
		// io.atcr.hold.scan
		{"io.atcr.hold.scan", set("critical", int64(-1)), false},
		{"io.atcr.hold.scan", set("vulnReportBlob", blob("application/json", 10)), false},
		{"io.atcr.hold.scan", set("sbomBlob", blob("application/spdx+json", 67108865)), false},
		{"io.atcr.hold.scan", set("status", "skipped"), true},
		{"io.atcr.hold.scan", set("status", "quarantined"), true}, // open knownValues
		{"io.atcr.hold.scan", set("status", long(33)), false},
		{"io.atcr.hold.scan", del("status"), true},
		{"io.atcr.hold.scan", del("scannerVersion"), false},
		{"io.atcr.hold.scan", set("scannerVersion", long(65)), false},
	}
	for _, c := range cases {
		data := apply(t, fixture(t, c.fixture), c.edit)
		err := schema.ValidateRecord(strings.TrimSuffix(c.fixture, ".index"), data)
		switch {
		case c.valid && err != nil:
			t.Errorf("%s %s=%v: want valid, got %v", c.fixture, c.edit.path, c.edit.value, err)
		case !c.valid && err == nil:
			t.Errorf("%s %s=%v: want invalid, got nil", c.fixture, c.edit.path, c.edit.value)
		case !c.valid && !errors.Is(err, schema.ErrInvalid):
			t.Errorf("%s %s: error %v does not wrap ErrInvalid", c.fixture, c.edit.path, err)
		}
	}
}

func TestValidateRecordScope(t *testing.T) {
	post := map[string]any{"$type": "app.bsky.feed.post", "text": 42}
	if err := schema.ValidateRecord("app.bsky.feed.post", post); err != nil {
		t.Errorf("foreign collections are not validated, got %v", err)
	}
	if err := schema.ValidateRecord("io.atcr.nope", map[string]any{"$type": "io.atcr.nope"}); !errors.Is(err, schema.ErrUnknownLexicon) {
		t.Errorf("unknown io.atcr collection: err = %v, want ErrUnknownLexicon", err)
	}
	if err := schema.ValidateRecord(atcr.HoldInitiateUploadNSID, map[string]any{}); !errors.Is(err, schema.ErrUnknownLexicon) {
		t.Errorf("procedure used as collection: err = %v, want ErrUnknownLexicon", err)
	}
	if err := schema.ValidateRecord("not an nsid", map[string]any{}); err == nil {
		t.Error("invalid collection NSID: want error")
	}
	if err := schema.ValidateRecord(atcr.TagNSID, nil); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("nil record: err = %v, want ErrInvalid", err)
	}
}

func TestValidateRecordAcceptsPlainGoValues(t *testing.T) {
	// Built by hand, with int rather than int64: normalised before validation.
	layer := map[string]any{
		"$type":     atcr.HoldLayerNSID,
		"digest":    "sha256:aa",
		"size":      42,
		"mediaType": "application/octet-stream",
		"manifest":  "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/io.atcr.manifest/3l4qpz7ajrc2a",
		"userDid":   "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
		"createdAt": "2026-03-01T12:00:00Z",
	}
	if err := schema.ValidateRecord(atcr.HoldLayerNSID, layer); err != nil {
		t.Error(err)
	}
	if layer["size"] != 42 {
		t.Error("ValidateRecord modified the caller's map")
	}
}

func TestValidateRecordKey(t *testing.T) {
	cases := []struct {
		collection, rkey string
		valid            bool
	}{
		{atcr.ManifestNSID, "3l4qpz7ajrc2a", true},
		{atcr.ManifestNSID, "myapp", false}, // key type tid
		{atcr.SailorProfileNSID, "self", true},
		{atcr.SailorProfileNSID, "other", false}, // literal:self
		{atcr.HoldCaptainNSID, "self", true},
		{atcr.TagNSID, "myapp_latest", true},
		{atcr.TagNSID, "bad/key", false},
		{atcr.HoldScanNSID, "6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b", true},
		{"app.bsky.feed.post", "3l4qpz7ajrc2a", true},
		{"app.bsky.feed.post", "..", false},
	}
	for _, c := range cases {
		err := schema.ValidateRecordKey(c.collection, c.rkey)
		if (err == nil) != c.valid {
			t.Errorf("ValidateRecordKey(%s, %q) = %v, want valid=%v", c.collection, c.rkey, err, c.valid)
		}
		if err != nil && !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("ValidateRecordKey(%s, %q): %v does not wrap ErrInvalid", c.collection, c.rkey, err)
		}
	}
	if err := schema.ValidateRecordKey("io.atcr.nope", "self"); !errors.Is(err, schema.ErrUnknownLexicon) {
		t.Errorf("unknown collection: %v", err)
	}
}
