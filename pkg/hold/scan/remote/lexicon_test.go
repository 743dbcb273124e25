package remote

import (
	"encoding/json"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
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

// validateMessage checks a JSON message against the def its $type names.
func validateMessage(typ string, data []byte) error {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	delete(v, "$type")
	return schema.ValidateObject(typ, v)
}
