package registry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/oci"
)

// blobPath is the /v2 path of a blob in repo.
func blobPath(repo string, d oci.Digest) string { return "/v2/" + repo + "/blobs/" + d.String() }

// TestBlobDeleteUnlinksFromTheRepository: DELETE answers 202 and the
// repository then answers 404 for the blob (HEAD for push and for pull,
// GET), while another repository holding the same bytes still serves them
// and the hold keeps them. A second DELETE is 404.
func TestBlobDeleteUnlinksFromTheRepository(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	data := randomBytes(700)
	d := env.pushBlob(t, env.alice, "alice.test/app", data)
	env.pushBlob(t, env.alice, "alice.test/other", data)
	// Fill the stat and presign caches first: they must not answer later.
	expectStatus(t, env.call(t, env.alice, http.MethodHead, blobPath("alice.test/app", d), nil, nil), http.StatusOK)
	expectStatus(t, env.call(t, storagetest.User{}, http.MethodGet, blobPath("alice.test/app", d), nil, nil), http.StatusTemporaryRedirect)

	resp := env.call(t, env.alice, http.MethodDelete, blobPath("alice.test/app", d), nil, nil)
	expectStatus(t, resp, http.StatusAccepted)
	if resp.Header.Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("DELETE headers %v", resp.Header)
	}

	expectError(t, env.call(t, env.alice, http.MethodHead, blobPath("alice.test/app", d), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	expectError(t, env.call(t, env.bob, http.MethodHead, blobPath("alice.test/app", d), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	expectError(t, env.call(t, storagetest.User{}, http.MethodGet, blobPath("alice.test/app", d), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	// The same repository by its DID is the same repository.
	expectError(t, env.call(t, env.alice, http.MethodHead, blobPath(env.alice.DID.String()+"/app", d), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")

	expectStatus(t, env.call(t, env.alice, http.MethodHead, blobPath("alice.test/other", d), nil, nil), http.StatusOK)
	if got := env.fetchBlob(t, "alice.test/other", d); string(got) != string(data) {
		t.Fatal("the other repository's bytes differ")
	}
	if !env.Hold.HasBlob(t, d) {
		t.Fatal("the hold lost the bytes: an unlink must never delete shared content")
	}
	expectError(t, env.call(t, env.alice, http.MethodDelete, blobPath("alice.test/app", d), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
}

// TestBlobDeleteRefusals: only the owner may delete (bob 403 DENIED,
// anonymous 401), a malformed digest is 400, an unknown blob 404; none of
// them unlinks anything.
func TestBlobDeleteRefusals(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	d := env.pushBlob(t, env.alice, "alice.test/app", randomBytes(100))
	path := blobPath("alice.test/app", d)
	expectError(t, env.call(t, env.bob, http.MethodDelete, path, nil, nil), http.StatusForbidden, "DENIED")
	resp := env.call(t, storagetest.User{}, http.MethodDelete, path, nil, nil)
	expectError(t, resp, http.StatusUnauthorized, "UNAUTHORIZED")
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without a challenge")
	}
	expectError(t, env.call(t, env.alice, http.MethodDelete, "/v2/alice.test/app/blobs/sha256:"+"zz", nil, nil), http.StatusBadRequest, "DIGEST_INVALID")
	expectError(t, env.call(t, env.alice, http.MethodDelete, blobPath("alice.test/app", digestOf([]byte("never pushed"))), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	expectStatus(t, env.call(t, env.alice, http.MethodHead, path, nil, nil), http.StatusOK)
}

// TestManifestReferencingAnUnlinkedBlob: a manifest PUT naming a blob
// deleted from the repository is MANIFEST_BLOB_UNKNOWN for that blob only;
// uploading the blob again makes the same PUT succeed.
func TestManifestReferencingAnUnlinkedBlob(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	blobs := [][]byte{[]byte(`{"architecture":"amd64","os":"linux"}`), randomBytes(300), randomBytes(400)}
	for _, b := range blobs {
		env.pushBlob(t, env.alice, "alice.test/app", b)
	}
	layer := digestOf(blobs[2])
	expectStatus(t, env.call(t, env.alice, http.MethodDelete, blobPath("alice.test/app", layer), nil, nil), http.StatusAccepted)

	body := imageManifest(t, blobs, nil)
	put := func() *http.Response {
		return env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body, map[string]string{"Content-Type": oci.MediaTypeOCIManifest})
	}
	resp := put()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Errors []struct {
			Code   string            `json:"code"`
			Detail map[string]string `json:"detail"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("PUT: %d %s", resp.StatusCode, raw)
	}
	if len(out.Errors) != 1 || out.Errors[0].Code != "MANIFEST_BLOB_UNKNOWN" || out.Errors[0].Detail["digest"] != layer.String() {
		t.Fatalf("PUT errors %s, want MANIFEST_BLOB_UNKNOWN for %s only", raw, layer)
	}
	// Another repository of the same owner is not affected.
	for _, b := range blobs {
		env.pushBlob(t, env.alice, "alice.test/other", b)
	}
	expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/other/manifests/v1", body, map[string]string{"Content-Type": oci.MediaTypeOCIManifest}), http.StatusCreated)

	env.pushBlob(t, env.alice, "alice.test/app", blobs[2])
	expectStatus(t, put(), http.StatusCreated)
}

// TestUploadRelinksAnUnlinkedBlob: every way of putting a blob into a
// repository again (monolithic POST, POST then PUT, PATCH then PUT, a
// mount) links it back after a DELETE.
func TestUploadRelinksAnUnlinkedBlob(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	repo := "alice.test/app"
	forms := []struct {
		name   string
		upload func(t *testing.T, data []byte, d oci.Digest) *http.Response
	}{
		{"monolithic POST", func(t *testing.T, data []byte, d oci.Digest) *http.Response {
			return env.call(t, env.alice, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), data, nil)
		}},
		{"POST then PUT", func(t *testing.T, data []byte, d oci.Digest) *http.Response {
			loc := env.startSession(t, env.alice, repo)
			return env.call(t, env.alice, http.MethodPut, loc+"?digest="+d.String(), data, nil)
		}},
		{"PATCH then PUT", func(t *testing.T, data []byte, d oci.Digest) *http.Response {
			loc := env.startSession(t, env.alice, repo)
			resp := env.call(t, env.alice, http.MethodPatch, loc, data, chunk(0, len(data)))
			expectStatus(t, resp, http.StatusAccepted)
			return env.call(t, env.alice, http.MethodPut, resp.Header.Get("Location")+"?digest="+d.String(), nil, nil)
		}},
		{"mount from another repository", func(t *testing.T, _ []byte, d oci.Digest) *http.Response {
			return env.call(t, env.alice, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?mount="+d.String()+"&from=alice.test/src", nil, nil)
		}},
		{"anonymous mount", func(t *testing.T, _ []byte, d oci.Digest) *http.Response {
			return env.call(t, env.alice, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?mount="+d.String(), nil, nil)
		}},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			data := randomBytes(1000)
			d := env.pushBlob(t, env.alice, repo, data)
			env.pushBlob(t, env.alice, "alice.test/src", data)
			expectStatus(t, env.call(t, env.alice, http.MethodDelete, blobPath(repo, d), nil, nil), http.StatusAccepted)
			expectStatus(t, env.call(t, env.alice, http.MethodHead, blobPath(repo, d), nil, nil), http.StatusNotFound)

			expectStatus(t, f.upload(t, data, d), http.StatusCreated)
			expectStatus(t, env.call(t, env.alice, http.MethodHead, blobPath(repo, d), nil, nil), http.StatusOK)
			if got := env.fetchBlob(t, repo, d); string(got) != string(data) {
				t.Fatal("downloaded bytes differ")
			}
		})
	}
}

// TestMountFromAnUnlinkedSource: a mount whose source repository had the
// blob deleted does not succeed through it: the client gets an upload
// session (202) and uploads the blob.
func TestMountFromAnUnlinkedSource(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	d := env.pushBlob(t, env.alice, "alice.test/src", randomBytes(900))
	expectStatus(t, env.call(t, env.alice, http.MethodDelete, blobPath("alice.test/src", d), nil, nil), http.StatusAccepted)

	for _, from := range []string{"alice.test/src", env.alice.DID.String() + "/src"} {
		resp := env.call(t, env.alice, http.MethodPost, "/v2/alice.test/dst/blobs/uploads/?mount="+d.String()+"&from="+from, nil, nil)
		expectStatus(t, resp, http.StatusAccepted)
		if resp.Header.Get("Docker-Upload-UUID") == "" {
			t.Fatalf("mount from %s: fallback headers %v", from, resp.Header)
		}
	}
	// The source named as the target itself: no mount either.
	expectStatus(t, env.call(t, env.alice, http.MethodPost, "/v2/alice.test/src/blobs/uploads/?mount="+d.String()+"&from=alice.test/src", nil, nil), http.StatusAccepted)
	// A source whose identity does not exist cannot be mounted from.
	expectStatus(t, env.call(t, env.alice, http.MethodPost, "/v2/alice.test/dst/blobs/uploads/?mount="+d.String()+"&from=nobody.test/src", nil, nil), http.StatusAccepted)
	// The refused mounts linked nothing back into the source.
	expectError(t, env.call(t, env.alice, http.MethodHead, blobPath("alice.test/src", d), nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
}
