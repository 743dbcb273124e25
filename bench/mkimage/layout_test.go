package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The layout must be a valid OCI image to go-containerregistry (the library
// crane is built on): every blob matches its digest and size, and the
// config's diff_id is the layer's digest (the layer is uncompressed).
func TestWriteLayoutIsAValidImage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	const size = 300<<10 + 7 // not a multiple of the tar block size
	img, err := WriteLayout(context.Background(), dir, size)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != img.Manifest.String() || m.Manifests[0].Size != img.ManifestSize {
		t.Fatalf("index.json = %+v, want one manifest %s", m.Manifests, img.Manifest)
	}
	v1img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkBlobs(t, dir)
	cfg, err := v1img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0].String() != img.Layer.String() {
		t.Errorf("diff_ids = %v, want [%s]", cfg.RootFS.DiffIDs, img.Layer)
	}
	layers, err := v1img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v", len(layers), err)
	}
	if got, _ := layers[0].Digest(); got.String() != img.Layer.String() {
		t.Errorf("layer digest = %s, want %s", got, img.Layer)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != fileName || hdr.Size != size {
		t.Fatalf("tar entry = %+v, %v", hdr, err)
	}
	content, err := io.ReadAll(tr)
	if err != nil || int64(len(content)) != size {
		t.Fatalf("read %d bytes, %v", len(content), err)
	}
	// Random content does not compress: gzip gains (almost) nothing.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(content)
	_ = zw.Close()
	if gz.Len() < len(content) {
		t.Errorf("gzip shrank the random content from %d to %d bytes", len(content), gz.Len())
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("tar has more than one entry: %v", err)
	}
}

// Two images never share a layer, so a registry cannot skip an upload.
func TestWriteLayoutIsUnique(t *testing.T) {
	base := t.TempDir()
	a, err := WriteLayout(context.Background(), filepath.Join(base, "a"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	b, err := WriteLayout(context.Background(), filepath.Join(base, "b"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if a.Layer == b.Layer || a.Manifest == b.Manifest {
		t.Errorf("two calls made the same layer %s", a.Layer)
	}
	if _, err := WriteLayout(context.Background(), filepath.Join(base, "a"), 1); err == nil {
		t.Error("WriteLayout reused an existing directory")
	}
}

// The image round-trips through a registry as the bench pushes it.
func TestPushAndPullThroughRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "img")
	img, err := WriteLayout(context.Background(), dir, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	local, err := idx.Image(mustHash(t, img.Manifest.String()))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/bench/img:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, local); err != nil {
		t.Fatalf("push: %v", err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if desc.Digest.String() != img.Manifest.String() {
		t.Errorf("registry has manifest %s, pushed %s", desc.Digest, img.Manifest)
	}
}

func TestRunPrintsDigests(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-size", "1KiB", "-out", dir}, &out, &errOut); code != 0 {
		t.Fatalf("run = %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "manifest=sha256:") || !strings.HasPrefix(lines[2], "layer=sha256:") {
		t.Fatalf("output = %q", out.String())
	}
	layer := strings.TrimPrefix(lines[2], "layer=sha256:")
	st, err := os.Stat(filepath.Join(dir, "blobs", "sha256", layer))
	if err != nil {
		t.Fatal(err)
	}
	if want := "layer_size=" + itoa(st.Size()); lines[3] != want {
		t.Errorf("%q, want %q", lines[3], want)
	}
	for _, args := range [][]string{{"-size", "1KiB"}, {"-size", "lots", "-out", dir + "2"}, {"-out", dir + "3", "extra"}} {
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("run(%v) = %d, want 2", args, code)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1536": 1536, "4KiB": 4096, "50MiB": 50 << 20, "2GiB": 2 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.5MiB", "10MB", "65GiB", "99999999999999999999"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}
