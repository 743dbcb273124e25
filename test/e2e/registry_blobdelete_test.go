//go:build e2e

package e2e

import (
	"bytes"
	"net/http"
	"path/filepath"
	"testing"
)

// TestRegistryBlobDelete: alice pushes one image with crane into two
// repositories (the layer is stored once in the hold and shared). Deleting
// a layer blob in the first with her token answers 202; the first then
// answers 404 for it, to her pushing and pulling alike, while the second
// still answers 200 and its bytes still download. Bob's DELETE is 403
// DENIED and changes nothing. Pushing the image again links the blob back.
func TestRegistryBlobDelete(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	base := env(t, "ATCR_APPVIEW_URL")
	alice, bob := regAlice(t), regBob(t)
	tools := newRegTools(t)
	tools.login(t, registry, alice)
	repoA, repoB := regRepo(alice, "blobdelete/first"), regRepo(alice, "blobdelete/second")

	img := regImage(t, "amd64", 64<<10, 32<<10)
	pushed := regLayout(t, filepath.Join(tools.dir, "image"), img)
	tools.run(t, "crane", "push", pushed, registry+"/"+repoA+":v1")
	tools.run(t, "crane", "push", pushed, registry+"/"+repoB+":v1")
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layerDigest, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	layerBytes := regCompressed(t, layers[0])
	pathA := "/v2/" + repoA + "/blobs/" + layerDigest.String()
	pathB := "/v2/" + repoB + "/blobs/" + layerDigest.String()

	aliceA := regToken(t, base, alice, "repository:"+repoA+":pull,push,delete")
	alicePullA := regToken(t, base, alice, "repository:"+repoA+":pull")
	alicePullB := regToken(t, base, alice, "repository:"+repoB+":pull")
	bobA := regToken(t, base, bob, "repository:"+repoA+":pull,delete")

	regDo(t, base, http.MethodDelete, pathA, bobA, nil, nil).
		requireError(t, "bob deletes a blob in alice's repository", http.StatusForbidden, "DENIED")
	if r := regDo(t, base, http.MethodHead, pathA, aliceA, nil, nil); r.Status != http.StatusOK {
		t.Fatalf("HEAD after bob's refused DELETE: %d, want 200", r.Status)
	}

	r := regDo(t, base, http.MethodDelete, pathA, aliceA, nil, nil)
	if r.Status != http.StatusAccepted || r.Header.Get("Docker-Content-Digest") != layerDigest.String() {
		t.Fatalf("alice's DELETE: %d %v %s, want 202", r.Status, r.Header, r.Body)
	}
	for _, tok := range []string{aliceA, alicePullA} { // pushing (push hold only) and pulling
		if r := regDo(t, base, http.MethodHead, pathA, tok, nil, nil); r.Status != http.StatusNotFound {
			t.Fatalf("HEAD in the first repository after DELETE: %d, want 404", r.Status)
		}
	}
	regDo(t, base, http.MethodGet, pathA, alicePullA, nil, nil).
		requireError(t, "GET in the first repository after DELETE", http.StatusNotFound, "BLOB_UNKNOWN")
	regDo(t, base, http.MethodDelete, pathA, aliceA, nil, nil).
		requireError(t, "a second DELETE", http.StatusNotFound, "BLOB_UNKNOWN")

	// The second repository shares the bytes and keeps them.
	if r := regDo(t, base, http.MethodHead, pathB, alicePullB, nil, nil); r.Status != http.StatusOK {
		t.Fatalf("HEAD in the second repository: %d, want 200", r.Status)
	}
	r = regDo(t, base, http.MethodGet, pathB, alicePullB, nil, nil)
	if r.Status != http.StatusTemporaryRedirect || r.Header.Get("Location") == "" {
		t.Fatalf("GET in the second repository: %d %v", r.Status, r.Header)
	}
	if status, got := fetch(t, r.Header.Get("Location")); status != http.StatusOK || !bytes.Equal(got, layerBytes) {
		t.Fatalf("download from the second repository: %d, %d bytes (want %d)", status, len(got), len(layerBytes))
	}

	// Pushing the image again (under a new tag: crane skips a tag that
	// already points at it) uploads the blob into the first repository and
	// links it back.
	tools.run(t, "crane", "push", pushed, registry+"/"+repoA+":v2")
	if r := regDo(t, base, http.MethodHead, pathA, alicePullA, nil, nil); r.Status != http.StatusOK {
		t.Fatalf("HEAD after pushing again: %d, want 200", r.Status)
	}
}
