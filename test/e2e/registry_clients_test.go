//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The real clients against https://atcr.internal: crane, oras and regctl
// log in with alice's app password and push and pull through Caddy, the
// AppView, the hold and the pull zone, as a user's machine would.

// TestClientsCraneImageAndIndex pushes a multi-layer image (one layer of
// 20 MiB: two parts of a multipart upload) and a two-platform index with
// crane, pulls both back as OCI layouts and compares every blob byte for
// byte.
func TestClientsCraneImageAndIndex(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	alice := regAlice(t)
	tools := newRegTools(t)
	tools.login(t, registry, alice)
	repo := registry + "/" + regRepo(alice, "clients/crane")

	img := regImage(t, "amd64", 3<<10, 20<<20, 100<<10)
	pushed := regLayout(t, filepath.Join(tools.dir, "image"), img)
	out := tools.run(t, "crane", "push", pushed, repo+":multi-layer")
	d, _ := img.Digest()
	if !strings.Contains(out, d.String()) {
		t.Fatalf("crane push printed %q, want the digest %s", out, d)
	}
	pulled := filepath.Join(tools.dir, "image-pulled")
	tools.run(t, "crane", "pull", "--format=oci", repo+":multi-layer", pulled)
	regSameBlobs(t, pushed, pulled)

	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: regImage(t, "amd64", 200<<10), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: regImage(t, "arm64", 300<<10), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	pushedIdx := regLayout(t, filepath.Join(tools.dir, "index"), idx)
	tools.run(t, "crane", "push", pushedIdx, repo+":multi-arch")
	rawIdx, _ := idx.RawManifest()
	if got := tools.run(t, "crane", "manifest", repo+":multi-arch"); got != string(rawIdx) {
		t.Fatalf("crane manifest of the index: %d bytes differ from the %d pushed", len(got), len(rawIdx))
	}
	pulledIdx := filepath.Join(tools.dir, "index-pulled")
	tools.run(t, "crane", "pull", "--format=oci", repo+":multi-arch", pulledIdx)
	regSameBlobs(t, pushedIdx, pulledIdx)
	// One platform on its own, as `docker pull --platform` resolves it.
	arm := tools.run(t, "crane", "digest", "--platform", "linux/arm64/v8", repo+":multi-arch")
	im, _ := idx.IndexManifest()
	if strings.TrimSpace(arm) != im.Manifests[1].Digest.String() {
		t.Fatalf("linux/arm64/v8 resolves to %q, want %s", arm, im.Manifests[1].Digest)
	}
}

// TestClientsOrasArtifact attaches an SBOM to an image with oras, finds it
// with oras discover (the referrers API), pulls it back byte for byte and
// checks the artifactType filter of the referrers API.
func TestClientsOrasArtifact(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	alice := regAlice(t)
	tools := newRegTools(t)
	tools.login(t, registry, alice)
	repo := registry + "/" + regRepo(alice, "clients/oras")
	subject := regLayout(t, filepath.Join(tools.dir, "image"), regImage(t, "amd64", 64<<10))
	tools.run(t, "crane", "push", subject, repo+":v1")

	sbom := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"atcr-e2e"}]}`)
	if err := os.WriteFile(filepath.Join(tools.dir, "sbom.json"), sbom, 0o600); err != nil {
		t.Fatal(err)
	}
	const artifactType = "application/vnd.cyclonedx+json"
	tools.run(t, "oras", "attach", "--artifact-type", artifactType, repo+":v1", "sbom.json:application/json")

	var tree struct {
		Digest    string `json:"digest"`
		Referrers []struct {
			Digest       string `json:"digest"`
			ArtifactType string `json:"artifactType"`
		} `json:"referrers"`
	}
	out := tools.run(t, "oras", "discover", "--format", "json", repo+":v1")
	if err := json.Unmarshal([]byte(out), &tree); err != nil {
		t.Fatalf("oras discover: %v\n%s", err, out)
	}
	if len(tree.Referrers) != 1 || tree.Referrers[0].ArtifactType != artifactType {
		t.Fatalf("oras discover found %+v, want one %s", tree.Referrers, artifactType)
	}
	artifact := tree.Referrers[0].Digest

	dir := filepath.Join(tools.dir, "pulled")
	tools.run(t, "oras", "pull", "-o", dir, repo+"@"+artifact)
	if got, err := os.ReadFile(filepath.Join(dir, "sbom.json")); err != nil || !bytes.Equal(got, sbom) {
		t.Fatalf("oras pull of the artifact: %q, %v", got, err)
	}

	// The referrers API filters by artifactType and says so.
	path := strings.TrimPrefix(repo, registry+"/")
	tok := regToken(t, env(t, "ATCR_APPVIEW_URL"), alice, "repository:"+path+":pull")
	for want, at := range map[int]string{1: artifactType, 0: "application/vnd.example.other"} {
		r := regDo(t, env(t, "ATCR_APPVIEW_URL"), http.MethodGet, "/v2/"+path+"/referrers/"+tree.Digest+"?artifactType="+url.QueryEscape(at), tok, nil, nil)
		var idx struct {
			Manifests []json.RawMessage `json:"manifests"`
		}
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &idx) != nil || len(idx.Manifests) != want ||
			r.Header.Get("OCI-Filters-Applied") != "artifactType" {
			t.Fatalf("referrers ?artifactType=%s: %d %v %s, want %d entries", at, r.Status, r.Header, r.Body, want)
		}
	}
}

// TestClientsRegctlCopyAndTagDelete copies an image to a second repository
// with regctl, deletes a tag, and checks a cross-repository mount.
//
// Blobs belong to the hold, not to a repository: the target answers HEAD
// 200 for every blob the source has on alice's push hold, so regctl (like
// crane and docker) copies only the manifest and no blob byte moves, which
// is what a mount achieves. The mount request itself is made explicitly.
func TestClientsRegctlCopyAndTagDelete(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	base := env(t, "ATCR_APPVIEW_URL")
	alice := regAlice(t)
	tools := newRegTools(t)
	tools.login(t, registry, alice)
	srcPath, dstPath := regRepo(alice, "clients/src"), regRepo(alice, "clients/dst")
	src, dst := registry+"/"+srcPath, registry+"/"+dstPath
	img := regImage(t, "amd64", 1<<20, 30<<10)
	tools.run(t, "crane", "push", regLayout(t, filepath.Join(tools.dir, "image"), img), src+":v1")

	tools.run(t, "regctl", "image", "copy", src+":v1", dst+":v1")
	tools.run(t, "regctl", "image", "copy", src+":v1", dst+":v2")
	raw, _ := img.RawManifest()
	if got := tools.run(t, "regctl", "manifest", "get", "--format", "raw-body", dst+":v1"); got != string(raw) {
		t.Fatalf("copied manifest: %d bytes differ from the %d pushed", len(got), len(raw))
	}
	layers, _ := img.Layers()
	for _, l := range layers {
		ld, _ := l.Digest()
		want := regCompressed(t, l)
		if got := tools.run(t, "regctl", "blob", "get", dst, ld.String()); got != string(want) {
			t.Fatalf("blob %s through the copy: %d bytes, want %d", ld, len(got), len(want))
		}
	}

	tok := regToken(t, base, alice, "repository:"+dstPath+":pull,push", "repository:"+srcPath+":pull")
	ld, _ := layers[0].Digest()
	r := regDo(t, base, http.MethodPost, "/v2/"+dstPath+"/blobs/uploads/?mount="+ld.String()+"&from="+srcPath, tok, nil, nil)
	if r.Status != http.StatusCreated || r.Header.Get("Docker-Content-Digest") != ld.String() {
		t.Fatalf("mount from %s: %d %v %s", srcPath, r.Status, r.Header, r.Body)
	}

	tools.run(t, "regctl", "tag", "delete", dst+":v1")
	tags := strings.Fields(tools.run(t, "regctl", "tag", "ls", dst))
	if slices.Contains(tags, "v1") || !slices.Contains(tags, "v2") {
		t.Fatalf("tags after deleting v1: %v", tags)
	}
	if _, _, err := tools.exec("", "regctl", "manifest", "head", dst+":v1"); err == nil {
		t.Fatal("the deleted tag still resolves")
	}
	d, _ := img.Digest()
	if got := strings.TrimSpace(tools.run(t, "regctl", "manifest", "head", dst+":v2")); got != d.String() {
		t.Fatalf("v2 resolves to %q after deleting v1, want %s", got, d)
	}
}

// regImage builds an OCI image for arch with one random gzip layer per size.
func regImage(t *testing.T, arch string, layerSizes ...int64) v1.Image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, n := range layerSizes {
		l, err := random.Layer(n, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// regLayout writes an image or index as the only entry of a new OCI layout.
func regLayout(t *testing.T, dir string, content any) string {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	switch c := content.(type) {
	case v1.Image:
		err = p.AppendImage(c)
	case v1.ImageIndex:
		err = p.AppendIndex(c)
	}
	if err != nil {
		t.Fatalf("write layout %s: %v", dir, err)
	}
	return dir
}

// regSameBlobs fails unless every blob of the pushed layout is in the pulled
// one with the same bytes.
func regSameBlobs(t *testing.T, pushed, pulled string) {
	t.Helper()
	blobs, err := filepath.Glob(filepath.Join(pushed, "blobs", "*", "*"))
	if err != nil || len(blobs) == 0 {
		t.Fatalf("no blobs in %s: %v", pushed, err)
	}
	for _, b := range blobs {
		rel, _ := filepath.Rel(pushed, b)
		want, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(pulled, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: pulled %d bytes (%v), pushed %d", rel, len(got), err, len(want))
		}
	}
}

func regCompressed(t *testing.T, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
