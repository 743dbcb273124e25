package registry_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// A manifest of almost 4 MiB of annotations (the conformance suite's
// large-manifest data set) does not fit a PDS record write (1 MB of JSON
// on the reference PDS, and the fake here): the record drops the
// annotations, the exact bytes are still served, and a referrer's
// annotations are read from its bytes.
func TestLargeManifestIsStoredWithoutAnnotationsInTheRecord(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	subject, subjectBody := env.pushImage(t, env.alice, "alice.test/app", "v1")
	cfg := []byte(`{"kind":"large"}`)
	env.pushBlob(t, env.alice, "alice.test/app", cfg)

	var m map[string]any
	sd := oci.Descriptor{MediaType: oci.MediaTypeOCIManifest, Digest: subject, Size: int64(len(subjectBody))}
	if err := json.Unmarshal(imageManifest(t, [][]byte{cfg}, &sd), &m); err != nil {
		t.Fatal(err)
	}
	annotations := map[string]string{}
	for i := range 390 {
		annotations["large-annotation-"+itoa(i)] = strings.Repeat("A", 10000)
	}
	m["annotations"] = annotations
	body, _ := json.Marshal(m)
	if len(body) > oci.MaxManifestSize || len(body) < 3<<20 {
		t.Fatalf("test manifest is %d bytes", len(body))
	}
	ct := map[string]string{"Content-Type": oci.MediaTypeOCIManifest}
	expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/large", body, ct), http.StatusCreated)

	resp := env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/large", nil, nil)
	expectStatus(t, resp, http.StatusOK)
	got, _ := io.ReadAll(resp.Body)
	if !bytes.Equal(got, body) {
		t.Fatalf("GET returned %d bytes, not the %d pushed", len(got), len(body))
	}
	for rkey, rec := range env.PDS.Records(env.alice.DID, atcr.ManifestNSID) {
		if rec["digest"] == digestOf(body).String() && rec["annotations"] != nil {
			t.Fatalf("record %s kept %d annotations", rkey, len(rec["annotations"].(map[string]any)))
		}
	}

	resp = env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/referrers/"+subject.String(), nil, nil)
	expectStatus(t, resp, http.StatusOK)
	var idx struct {
		Manifests []oci.Descriptor `json:"manifests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != digestOf(body) || len(idx.Manifests[0].Annotations) != 390 {
		t.Fatalf("referrers: %d descriptors", len(idx.Manifests))
	}
}
