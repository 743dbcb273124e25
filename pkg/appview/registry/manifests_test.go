package registry_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// pushBlob uploads data monolithically into repo and returns its digest.
func (e *testEnv) pushBlob(t testing.TB, u storagetest.User, repo string, data []byte) oci.Digest {
	t.Helper()
	d := digestOf(data)
	resp := e.call(t, u, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), data,
		map[string]string{"Content-Type": "application/octet-stream"})
	expectStatus(t, resp, http.StatusCreated)
	return d
}

// imageManifest builds an OCI image manifest over the given blobs (the
// first is the config) with an optional subject.
func imageManifest(t testing.TB, blobs [][]byte, subject *oci.Descriptor) []byte {
	t.Helper()
	desc := func(b []byte, mt string) map[string]any {
		return map[string]any{"mediaType": mt, "digest": digestOf(b).String(), "size": len(b)}
	}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     oci.MediaTypeOCIManifest,
		"config":        desc(blobs[0], oci.MediaTypeOCIConfig),
		"layers":        []any{},
	}
	var layers []any
	for _, b := range blobs[1:] {
		layers = append(layers, desc(b, oci.MediaTypeOCILayerGzip))
	}
	if layers != nil {
		m["layers"] = layers
	}
	if subject != nil {
		m["subject"] = subject
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// pushImage pushes random blobs and a manifest for them under ref.
func (e *testEnv) pushImage(t *testing.T, u storagetest.User, repo, ref string) (oci.Digest, []byte) {
	t.Helper()
	blobs := [][]byte{[]byte(`{"architecture":"amd64","os":"linux"}`), randomBytes(300), randomBytes(500)}
	for _, b := range blobs {
		e.pushBlob(t, u, repo, b)
	}
	body := imageManifest(t, blobs, nil)
	resp := e.call(t, u, http.MethodPut, "/v2/"+repo+"/manifests/"+ref, body, map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	expectStatus(t, resp, http.StatusCreated)
	return digestOf(body), body
}

func TestManifestGetHeadAndHeaders(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	d, body := env.pushImage(t, env.alice, "alice.test/app", "v1")
	for _, ref := range []string{"v1", d.String()} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			resp := env.call(t, storagetest.User{}, method, "/v2/alice.test/app/manifests/"+ref, nil, nil)
			expectStatus(t, resp, http.StatusOK)
			h := resp.Header
			if h.Get("Content-Type") != oci.MediaTypeOCIManifest || h.Get("Docker-Content-Digest") != d.String() ||
				h.Get("Content-Length") != itoa(len(body)) || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("%s %s headers %v", method, ref, h)
			}
			got, _ := io.ReadAll(resp.Body)
			if method == http.MethodGet && string(got) != string(body) {
				t.Fatalf("GET %s returned other bytes", ref)
			}
		}
	}
	// The same digest under the DID name of the same owner.
	resp := env.call(t, storagetest.User{}, http.MethodGet, "/v2/"+env.alice.DID.String()+"/app/manifests/"+d.String(), nil, nil)
	expectStatus(t, resp, http.StatusOK)
	// Another repository of the same owner does not have it.
	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/other/manifests/"+d.String(), nil, nil),
		http.StatusNotFound, "MANIFEST_UNKNOWN")
}

func TestManifestPutErrors(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	cfg := []byte(`{"os":"linux"}`)
	env.pushBlob(t, env.alice, "alice.test/app", cfg)
	missing := randomBytes(64)
	ct := map[string]string{"Content-Type": oci.MediaTypeOCIManifest}

	t.Run("missing blobs", func(t *testing.T) {
		body := imageManifest(t, [][]byte{cfg, missing}, nil)
		resp := env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, ct)
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(raw), "MANIFEST_BLOB_UNKNOWN") ||
			!strings.Contains(string(raw), digestOf(missing).String()) {
			t.Fatalf("status %d body %s", resp.StatusCode, raw)
		}
	})
	t.Run("too large", func(t *testing.T) {
		body := make([]byte, 5<<20)
		expectError(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, ct),
			http.StatusRequestEntityTooLarge, "MANIFEST_INVALID")
	})
	t.Run("digest mismatch", func(t *testing.T) {
		body := imageManifest(t, [][]byte{cfg}, nil)
		wrong := digestOf([]byte("other"))
		expectError(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/"+wrong.String(), body, ct),
			http.StatusBadRequest, "DIGEST_INVALID")
	})
	t.Run("bad digest", func(t *testing.T) {
		body := imageManifest(t, [][]byte{cfg}, nil)
		expectError(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/sha256:abc", body, ct),
			http.StatusBadRequest, "DIGEST_INVALID")
	})
	t.Run("media type mismatch", func(t *testing.T) {
		body := imageManifest(t, [][]byte{cfg}, nil)
		expectError(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body,
			map[string]string{"Content-Type": oci.MediaTypeOCIIndex}), http.StatusBadRequest, "MANIFEST_INVALID")
	})
	t.Run("index child unknown", func(t *testing.T) {
		idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeOCIIndex,
			"manifests": []any{map[string]any{"mediaType": oci.MediaTypeOCIManifest, "digest": digestOf(missing).String(), "size": 64}}})
		expectError(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/multi", idx,
			map[string]string{"Content-Type": oci.MediaTypeOCIIndex}), http.StatusNotFound, "MANIFEST_BLOB_UNKNOWN")
	})
	if n := len(env.PDS.Records(env.alice.DID, atcr.ManifestNSID)); n != 0 {
		t.Fatalf("%d manifest records written by refused pushes", n)
	}
}

func TestPushIntoAnotherNamespaceIsDenied(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	cfg := []byte(`{}`)
	body := imageManifest(t, [][]byte{cfg}, nil)
	resp := env.call(t, env.bob, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	expectError(t, resp, http.StatusForbidden, "DENIED")
	resp = env.call(t, env.bob, http.MethodPost, "/v2/alice.test/app/blobs/uploads/", nil, nil)
	expectError(t, resp, http.StatusForbidden, "DENIED")
	for _, c := range []string{atcr.ManifestNSID, atcr.TagNSID} {
		if n := len(env.PDS.Records(env.alice.DID, c)) + len(env.PDS.Records(env.bob.DID, c)); n != 0 {
			t.Fatalf("%d %s records written", n, c)
		}
	}
	if env.PDS.Calls("com.atproto.repo.uploadBlob") != 0 || env.Hold.Calls("io.atcr.hold.initiateUpload") != 0 {
		t.Fatal("a denied push reached the PDS or the hold")
	}
	// Anonymous pushes are sent to authenticate.
	resp = env.call(t, storagetest.User{}, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, nil)
	expectError(t, resp, http.StatusUnauthorized, "UNAUTHORIZED")
}

// TestWriteGrantForAnotherOwnerIsDenied: a grant is for repository names,
// and names resolve to accounts; a write whose name now resolves to an
// account other than the grant's subject (a handle moved after the token
// was issued) is refused before anything is written, because the registry
// would write with that other account's PDS session.
func TestWriteGrantForAnotherOwnerIsDenied(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	// Alice's token, issued while "bob.test" was hers; it resolves to Bob now.
	stale := storagetest.User{DID: env.alice.DID, Handle: env.bob.Handle}
	cfg := []byte(`{}`)
	body := imageManifest(t, [][]byte{cfg}, nil)
	for _, c := range []struct{ method, path string }{
		{http.MethodPut, "/v2/bob.test/app/manifests/v1"},
		{http.MethodPost, "/v2/bob.test/app/blobs/uploads/"},
		{http.MethodDelete, "/v2/bob.test/app/manifests/v1"},
		{http.MethodDelete, "/v2/bob.test/app/blobs/" + digestOf(cfg).String()},
	} {
		resp := env.call(t, stale, c.method, c.path, body, map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
		expectError(t, resp, http.StatusForbidden, "DENIED")
	}
	for _, c := range []string{atcr.ManifestNSID, atcr.TagNSID} {
		if n := len(env.PDS.Records(env.bob.DID, c)); n != 0 {
			t.Fatalf("%d %s records written into Bob's repository", n, c)
		}
	}
	if env.PDS.Calls("com.atproto.repo.uploadBlob") != 0 || env.Hold.Calls("io.atcr.hold.initiateUpload") != 0 {
		t.Fatal("a write for another account reached the PDS or the hold")
	}
	// Reads stay open to the same token.
	expectError(t, env.call(t, stale, http.MethodGet, "/v2/bob.test/app/manifests/v1", nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
}

func TestManifestUnknown(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	env.pushImage(t, env.alice, "alice.test/app", "v1")
	for _, ref := range []string{"nope", digestOf([]byte("x")).String()} {
		expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/"+ref, nil, nil),
			http.StatusNotFound, "MANIFEST_UNKNOWN")
		expectError(t, env.call(t, env.alice, http.MethodDelete, "/v2/alice.test/app/manifests/"+ref, nil, nil),
			http.StatusNotFound, "MANIFEST_UNKNOWN")
	}
	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/sha256:XYZ", nil, nil),
		http.StatusBadRequest, "DIGEST_INVALID")
}

func TestManifestDelete(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	d, _ := env.pushImage(t, env.alice, "alice.test/app", "v1")
	env.pushImage(t, env.alice, "alice.test/app", "keep")
	// A second tag on the same manifest.
	body, _ := io.ReadAll(env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/v1", nil, nil).Body)
	expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1-alias", body,
		map[string]string{"Content-Type": oci.MediaTypeOCIManifest}), http.StatusCreated)

	// Deleting a tag removes only the tag.
	expectStatus(t, env.call(t, env.alice, http.MethodDelete, "/v2/alice.test/app/manifests/v1-alias", nil, nil), http.StatusAccepted)
	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/v1-alias", nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	expectStatus(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/"+d.String(), nil, nil), http.StatusOK)

	// Bob may not delete Alice's manifest.
	expectError(t, env.call(t, env.bob, http.MethodDelete, "/v2/alice.test/app/manifests/"+d.String(), nil, nil), http.StatusForbidden, "DENIED")

	// Deleting by digest removes the manifest and the tags pointing at it.
	expectStatus(t, env.call(t, env.alice, http.MethodDelete, "/v2/alice.test/app/manifests/"+d.String(), nil, nil), http.StatusAccepted)
	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/"+d.String(), nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/v1", nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	tags := env.PDS.Records(env.alice.DID, atcr.TagNSID)
	if _, ok := tags["app:keep"]; !ok || len(tags) != 1 {
		t.Fatalf("tag records after delete: %v", tags)
	}
	if n := len(env.PDS.Records(env.alice.DID, atcr.ManifestNSID)); n != 1 {
		t.Fatalf("%d manifest records after delete, want 1", n)
	}
	resp := env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/tags/list", nil, nil)
	raw, _ := io.ReadAll(resp.Body)
	if string(raw) != `{"name":"alice.test/app","tags":["keep"]}` {
		t.Fatalf("tags after delete: %s", raw)
	}
}

func TestManifestBySHA512AndSubjectHeader(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	subject, subjectBody := env.pushImage(t, env.alice, "alice.test/app", "v1")
	cfg := []byte(`{"kind":"sbom"}`)
	env.pushBlob(t, env.alice, "alice.test/app", cfg)
	sd := oci.Descriptor{MediaType: oci.MediaTypeOCIManifest, Digest: subject, Size: int64(len(subjectBody))}
	body := imageManifest(t, [][]byte{cfg}, &sd)
	d512 := oci.FromBytes(oci.SHA512, body)
	resp := env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/"+d512.String(), body,
		map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	expectStatus(t, resp, http.StatusCreated)
	if resp.Header.Get("OCI-Subject") != subject.String() || resp.Header.Get("Docker-Content-Digest") != d512.String() ||
		resp.Header.Get("Location") != "/v2/alice.test/app/manifests/"+d512.String() {
		t.Fatalf("headers %v", resp.Header)
	}
	resp = env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/"+d512.String(), nil, nil)
	expectStatus(t, resp, http.StatusOK)

	resp = env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/referrers/"+subject.String()+"?artifactType=application/vnd.oci.image.config.v1%2Bjson", nil, nil)
	expectStatus(t, resp, http.StatusOK)
	var idx struct {
		MediaType string           `json:"mediaType"`
		Manifests []oci.Descriptor `json:"manifests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("OCI-Filters-Applied") != "artifactType" || resp.Header.Get("Content-Type") != oci.MediaTypeOCIIndex ||
		len(idx.Manifests) != 1 || idx.Manifests[0].Digest != d512 || idx.Manifests[0].Size != int64(len(body)) {
		t.Fatalf("referrers %+v headers %v", idx, resp.Header)
	}
}

func TestPDSUnreachableDuringManifestPut(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	cfg := []byte(`{}`)
	env.pushBlob(t, env.alice, "alice.test/app", cfg)
	body := imageManifest(t, [][]byte{cfg}, nil)
	ct := map[string]string{"Content-Type": oci.MediaTypeOCIManifest}

	// The manifest record cannot be written (neither in one batch with
	// the tag nor alone): nothing is tagged.
	env.PDS.SetDown("com.atproto.repo.applyWrites", "com.atproto.repo.createRecord")
	expectUpstream(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, ct), "PDS")
	if n := len(env.PDS.Records(env.alice.DID, atcr.TagNSID)); n != 0 || env.PDS.Calls("com.atproto.repo.putRecord") != 0 {
		t.Fatalf("%d tag records / %d putRecord calls after a failed manifest write", n, env.PDS.Calls("com.atproto.repo.putRecord"))
	}
	env.PDS.ClearDown()

	// The batch fails and, one by one, the tag record cannot be written:
	// the manifest exists untagged, and no tag points at anything missing.
	env.PDS.SetDown("com.atproto.repo.applyWrites", "com.atproto.repo.putRecord")
	expectUpstream(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, ct), "PDS")
	env.PDS.ClearDown()
	if n := len(env.PDS.Records(env.alice.DID, atcr.TagNSID)); n != 0 {
		t.Fatalf("%d tag records", n)
	}
	expectError(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/v1", nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")

	// Retrying succeeds and reuses the manifest record.
	expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, ct), http.StatusCreated)
	if n := len(env.PDS.Records(env.alice.DID, atcr.ManifestNSID)); n != 1 {
		t.Fatalf("%d manifest records after retry, want 1", n)
	}
}

func TestNoSessionIsUnauthorized(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	cfg := []byte(`{}`)
	env.pushBlob(t, env.alice, "alice.test/app", cfg)
	env.ActAs.Forget(env.alice.DID)
	resp := env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", imageManifest(t, [][]byte{cfg}, nil),
		map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	expectError(t, resp, http.StatusUnauthorized, "UNAUTHORIZED")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestPushByDigestWithTagParams(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	cfg := []byte(`{"os":"linux"}`)
	env.pushBlob(t, env.alice, "alice.test/app", cfg)
	body := imageManifest(t, [][]byte{cfg}, nil)
	d := digestOf(body)
	ct := map[string]string{"Content-Type": oci.MediaTypeOCIManifest}
	resp := env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/"+d.String()+"?tag=a&tag=b&tag=a", body, ct)
	expectStatus(t, resp, http.StatusCreated)
	if got := resp.Header.Values("OCI-Tag"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("OCI-Tag %v", got)
	}
	for _, tag := range []string{"a", "b"} {
		expectStatus(t, env.call(t, env.alice, http.MethodGet, "/v2/alice.test/app/manifests/"+tag, nil, nil), http.StatusOK)
	}
	expectError(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/"+d.String()+"?tag=-bad", body, ct),
		http.StatusBadRequest, "MANIFEST_INVALID")
	if n := len(env.PDS.Records(env.alice.DID, atcr.TagNSID)); n != 2 {
		t.Fatalf("%d tag records, want 2", n)
	}
}

// Non-distributable layers live elsewhere (their urls): a manifest naming
// one that was never pushed is accepted, while a missing ordinary layer is
// still MANIFEST_BLOB_UNKNOWN.
func TestNondistributableLayersNeedNotBePushed(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	cfg := []byte(`{"architecture":"amd64","os":"windows"}`)
	env.pushBlob(t, env.alice, "alice.test/win", cfg)
	manifest := func(layerType string) []byte {
		return []byte(`{"schemaVersion":2,"mediaType":"` + oci.MediaTypeOCIManifest + `","config":{"mediaType":"` +
			oci.MediaTypeOCIConfig + `","digest":"` + digestOf(cfg).String() + `","size":` + itoa(len(cfg)) +
			`},"layers":[{"mediaType":"` + layerType + `","digest":"` + digestOf([]byte("never pushed")).String() +
			`","size":12,"urls":["https://store.example.com/base"]}]}`)
	}
	ct := map[string]string{"Content-Type": oci.MediaTypeOCIManifest}
	expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/win/manifests/foreign",
		manifest(oci.MediaTypeOCILayerNondistributableGzip), ct), http.StatusCreated)
	expectError(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/win/manifests/missing",
		manifest(oci.MediaTypeOCILayerGzip), ct), http.StatusNotFound, "MANIFEST_BLOB_UNKNOWN")
}
