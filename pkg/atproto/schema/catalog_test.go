package schema_test

import (
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/lexicon"

	"atcr.io/lexicons"
	"atcr.io/pkg/atproto/schema"
)

// lexiconKinds is every lexicon ATCR ships, with its kind and, for records,
// its key type (section 2 of the upstream inventory).
var lexiconKinds = map[string]string{
	"io.atcr.manifest":              "record tid",
	"io.atcr.tag":                   "record any",
	"io.atcr.sailor.profile":        "record literal:self",
	"io.atcr.sailor.star":           "record any",
	"io.atcr.repo.page":             "record any",
	"io.atcr.hold":                  "record any",
	"io.atcr.hold.captain":          "record literal:self",
	"io.atcr.hold.crew":             "record any",
	"io.atcr.hold.layer":            "record tid",
	"io.atcr.hold.scan":             "record any",
	"io.atcr.hold.initiateUpload":   "procedure",
	"io.atcr.hold.getPartUploadUrl": "procedure",
	"io.atcr.hold.uploadPart":       "procedure",
	"io.atcr.hold.completeUpload":   "procedure",
	"io.atcr.hold.abortUpload":      "procedure",
	"io.atcr.hold.notifyManifest":   "procedure",
	"io.atcr.hold.requestCrew":      "procedure",
	"io.atcr.hold.listTiers":        "query",
	"io.atcr.hold.getQuota":         "query",
	// Remote scan workers and scan job states (docs/scanning.md).
	"io.atcr.hold.subscribeScanJobs": "subscription",
	"io.atcr.hold.getScanStatus":     "query",
	// Layer records of a deleted manifest (docs/hold.md, "Deleting a manifest").
	"io.atcr.hold.notifyManifestDeleted": "procedure",
}

func TestEveryLexiconFileParses(t *testing.T) {
	seen := map[string]bool{}
	err := fs.WalkDir(lexicons.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(lexicons.FS, p)
		if err != nil {
			return err
		}
		var sf lexicon.SchemaFile
		if err := json.Unmarshal(raw, &sf); err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if err := sf.FinishParse(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if err := sf.CheckSchema(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if want := strings.ReplaceAll(sf.ID, ".", "/") + ".json"; p != want {
			t.Errorf("%s holds %s; want it at %s", p, sf.ID, want)
		}
		if _, ok := lexiconKinds[sf.ID]; !ok {
			t.Errorf("%s: %s is not in the expected list", p, sf.ID)
		}
		seen[sf.ID] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for nsid := range lexiconKinds {
		if !seen[nsid] {
			t.Errorf("no lexicon file for %s", nsid)
		}
	}
}

func TestCatalogKinds(t *testing.T) {
	cat, err := schema.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for nsid, want := range lexiconKinds {
		s, err := cat.Resolve(nsid)
		if err != nil {
			t.Errorf("%s: %v", nsid, err)
			continue
		}
		var got string
		switch d := s.Def.(type) {
		case lexicon.SchemaRecord:
			got = "record " + d.Key
		case lexicon.SchemaProcedure:
			got = "procedure"
		case lexicon.SchemaQuery:
			got = "query"
		case lexicon.SchemaSubscription:
			got = "subscription"
		default:
			got = "unexpected"
		}
		if got != want {
			t.Errorf("%s is %q, want %q", nsid, got, want)
		}
	}
}

func TestDeclaredErrors(t *testing.T) {
	want := map[string][]string{
		"io.atcr.hold.initiateUpload":   {"InvalidDigest", "AuthRequired"},
		"io.atcr.hold.getPartUploadUrl": {"InvalidUploadId", "InvalidPartNumber", "UploadExpired", "AuthRequired"},
		"io.atcr.hold.uploadPart":       {"InvalidUploadId", "InvalidPartNumber", "UploadExpired"},
		"io.atcr.hold.completeUpload":   {"InvalidUploadId", "InvalidDigest", "MissingParts", "CompletionFailed", "UploadExpired"},
		"io.atcr.hold.abortUpload":      {"InvalidUploadId"},
		"io.atcr.hold.notifyManifest":   {"QuotaExceeded", "BlobNotFound", "InvalidDigest"},
		"io.atcr.hold.requestCrew":      {"AuthRequired", "RegistrationDisabled"},
		"io.atcr.hold.getQuota":         {"AuthRequired"},
		"io.atcr.hold.getScanStatus":    {"InvalidRequest"},

		"io.atcr.hold.notifyManifestDeleted": {"InvalidRequest", "Forbidden", "ManifestStillExists"},
	}
	cat, err := schema.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for nsid, names := range want {
		s, err := cat.Resolve(nsid)
		if err != nil {
			t.Fatal(err)
		}
		var errs []lexicon.SchemaError
		switch d := s.Def.(type) {
		case lexicon.SchemaProcedure:
			errs = d.Errors
		case lexicon.SchemaQuery:
			errs = d.Errors
		}
		for _, name := range names {
			if !slices.ContainsFunc(errs, func(e lexicon.SchemaError) bool { return e.Name == name }) {
				t.Errorf("%s does not declare error %s", nsid, name)
			}
		}
	}
}
