package remote

import (
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/lexicon"

	"atcr.io/lexicons"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// TestMessagesMatchLexicon: every message either side sends validates
// against its def in lexicons/io/atcr/hold/subscribeScanJobs.json.
func TestMessagesMatchLexicon(t *testing.T) {
	e := newEnv(t)
	p := &S3Presigner{S3: e.s3, TTL: time.Hour}
	job, err := jobMessage(scan.Job{ID: 3, Manifest: "at://did:plc:owner/io.atcr.manifest/3kabc", Owner: "did:plc:owner", Repository: "app", Image: e.image, Attempt: 1},
		testHold, func(d oci.Digest) (string, time.Time, error) { return p.PresignGet(t.Context(), d) })
	if err != nil {
		t.Fatal(err)
	}
	res := resultMessage(3, scan.Result{Status: scan.StatusCompleted, Counts: scan.Counts{Critical: 1, Total: 2},
		Report: []byte("{}"), ScannerVersion: "grype-v0.121.2", DBBuilt: time.Date(2026, 12, 1, 0, 0, 0, 5, time.UTC)})
	for typ, body := range map[string]any{
		typeScanJob:    job,
		typeScanResult: res,
		typeRelease:    &atcr.HoldSubscribeScanJobs_Release{ID: 3, Reason: "storage unreachable"},
		typeInfo:       &atcr.HoldSubscribeScanJobs_Info{Name: "Superseded"},
		typeError:      &atcr.HoldSubscribeScanJobs_Error{Error: "WrongJob", Message: "job 4"},
	} {
		data, err := encode(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateMessage(typ, data); err != nil {
			t.Errorf("%s: %v\n%s", typ, err, data)
		}
	}
	// And the check itself catches a bad message.
	bad, _ := encode(typeScanResult, &atcr.HoldSubscribeScanJobs_ScanResult{ID: 3, Status: "completed", High: -1, ScannerVersion: "v"})
	if err := validateMessage(typeScanResult, bad); err == nil {
		t.Error("a negative count validated")
	}
}

// validateMessage checks a JSON message against the def its $type names,
// presenting the def as a record type (indigo validates records only).
func validateMessage(typ string, data []byte) error {
	cat := lexicon.NewBaseCatalog()
	if err := cat.LoadEmbedFS(lexicons.FS); err != nil {
		return err
	}
	s, err := cat.Resolve(typ)
	if err != nil {
		return err
	}
	obj := s.Def.(lexicon.SchemaObject)
	v, err := atdata.UnmarshalJSON(data)
	if err != nil {
		return err
	}
	ref := strings.Replace(typ, "#", "#$", 1)
	wrapped := recordCatalog{Catalog: cat, ref: ref, def: lexicon.SchemaRecord{Type: "record", Key: "any", Record: obj}}
	v["$type"] = ref
	return lexicon.ValidateRecord(wrapped, v, ref, lexicon.StrictRecursiveValidation)
}

type recordCatalog struct {
	lexicon.Catalog
	ref string
	def lexicon.SchemaRecord
}

func (c recordCatalog) Resolve(ref string) (*lexicon.Schema, error) {
	if ref == c.ref {
		return &lexicon.Schema{ID: ref, Def: c.def}, nil
	}
	return c.Catalog.Resolve(ref)
}
