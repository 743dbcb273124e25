//go:build e2e

package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// TestRegistryPDSUnreachableDuringManifestPut cuts alice's PDS off from an
// AppView in the middle of manifest pushes and checks that the push fails
// with a 502 naming the PDS, and that no tag record is left pointing at
// nothing.
//
// The stack's PDS cannot be stopped under the other tests, so the test runs
// an AppView of its own (the real binary, its own port and data directory)
// that reaches alice's PDS through a gate it can close: a fake PLC directory
// serves alice's real DID document with the PDS endpoint moved to the gate,
// a TLS reverse proxy in front of https://pds.test that drops the
// connection of the XRPC methods it is told to block, as an unreachable
// host would (the fault tests' gate and AppView, faults_*_test.go). Blobs
// still go to the stack's hold, and the records land in
// alice's real repository, where the test reads them directly.
func TestRegistryPDSUnreachableDuringManifestPut(t *testing.T) {
	alice := regAlice(t)
	gate := newFaultGate(t, "pds", "", true, faultProxy(t, env(t, "ATCR_PDS_URL"), false))
	plc := newFaultGate(t, "plc", "", true, faultPLC(env(t, "ATCR_PLC_URL"), alice.DID, gate.URL()))
	dir := t.TempDir()
	base := startFaultAppView(t, faultAppViewConfig{Dir: dir, Bundle: faultTrustBundle(t, dir), PLC: plc.URL(),
		DefaultHold: env(t, "ATCR_HOLD_DID")}).Base

	path := regRepo(alice, "errors/pdsdown")
	repoPath := strings.TrimPrefix(path, alice.Handle+"/")
	tok := regToken(t, base, alice, "repository:"+path+":pull,push")
	cfg := []byte(`{"architecture":"amd64","os":"linux","note":"` + path + `"}`)
	d := regPushBlob(t, base, tok, path, cfg)
	manifest := []byte(`{"schemaVersion":2,"mediaType":"` + oci.MediaTypeOCIManifest + `","config":{"mediaType":"` +
		oci.MediaTypeOCIConfig + `","digest":"` + d.String() + `","size":` + strconv.Itoa(len(cfg)) + `},"layers":[]}`)
	put := func(tag string) regResponse {
		return regDo(t, base, http.MethodPut, "/v2/"+path+"/manifests/"+tag, tok, manifest,
			map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	}
	records := func() (manifests, tags []regRecord) {
		return regRecordsOf(regRecords(t, alice.DID, atcr.ManifestNSID), repoPath),
			regRecordsOf(regRecords(t, alice.DID, atcr.TagNSID), repoPath)
	}
	requirePDSFailure := func(what string, r regResponse) {
		t.Helper()
		r.requireError(t, what, http.StatusBadGateway, "UNKNOWN")
		_, msg := r.errorCode()
		if !strings.Contains(msg, "PDS") || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "xrpc") {
			t.Fatalf("%s: message %q should name the PDS and nothing internal", what, msg)
		}
	}

	// The manifest record cannot be written, neither in one applyWrites with
	// its tag nor alone: nothing is recorded.
	gate.set(t, gateDropped, "com.atproto.repo.applyWrites", "com.atproto.repo.createRecord")
	requirePDSFailure("createRecord unreachable", put("v1"))
	if m, tags := records(); len(m) != 0 || len(tags) != 0 {
		t.Fatalf("after a failed createRecord: %d manifest and %d tag records", len(m), len(tags))
	}

	// The batch fails and, written one by one, the tag cannot be: the
	// manifest record exists, untagged, and the tag does not resolve.
	gate.set(t, gateDropped, "com.atproto.repo.applyWrites", "com.atproto.repo.putRecord")
	requirePDSFailure("putRecord unreachable", put("v1"))
	m, tags := records()
	if len(m) != 1 || len(tags) != 0 {
		t.Fatalf("after a failed putRecord: %d manifest and %d tag records, want 1 and 0", len(m), len(tags))
	}
	regDo(t, base, http.MethodGet, "/v2/"+path+"/manifests/v1", tok, nil, nil).
		requireError(t, "tag after a failed putRecord", http.StatusNotFound, "MANIFEST_UNKNOWN")

	// The whole PDS is unreachable.
	gate.set(t, gateDropped)
	requirePDSFailure("PDS unreachable", put("v2"))

	// Back again: the push succeeds, reuses the manifest record, and the
	// stack's own AppView serves it from the records alone.
	gate.set(t, gateOpen)
	if r := put("v1"); r.Status != http.StatusCreated {
		t.Fatalf("push after the PDS came back: %d %s", r.Status, r.Body)
	}
	m, tags = records()
	if len(m) != 1 || len(tags) != 1 || tags[0].Value["manifest"] != m[0].URI {
		t.Fatalf("records after the retry: %d manifests, tags %+v", len(m), tags)
	}
	stack := env(t, "ATCR_APPVIEW_URL")
	r := regDo(t, stack, http.MethodGet, "/v2/"+path+"/manifests/v1", regToken(t, stack, alice, "repository:"+path+":pull"), nil, nil)
	if r.Status != http.StatusOK || string(r.Body) != string(manifest) {
		t.Fatalf("GET through the stack's AppView: %d %s", r.Status, r.Body)
	}
}
