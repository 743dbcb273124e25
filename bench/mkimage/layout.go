package main

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fileName is the one file inside the layer.
const fileName = "random.bin"

// Image describes what WriteLayout wrote.
type Image struct {
	Manifest     digest.Digest
	ManifestSize int64
	Layer        digest.Digest
	LayerSize    int64
}

// WriteLayout creates dir as an OCI image layout (oci-layout, index.json,
// blobs/sha256/…) with one image: a config and one uncompressed tar layer
// holding fileName with size random bytes. dir must not exist yet.
func WriteLayout(ctx context.Context, dir string, size int64) (Image, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return Image{}, fmt.Errorf("create layout: %w", err)
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return Image{}, fmt.Errorf("create blobs dir: %w", err)
	}
	layer, err := writeLayer(ctx, blobs, size)
	if err != nil {
		return Image{}, err
	}
	config, err := writeJSON(blobs, ocispec.Image{
		Platform: ocispec.Platform{Architecture: "amd64", OS: "linux"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}},
	}, ocispec.MediaTypeImageConfig)
	if err != nil {
		return Image{}, err
	}
	manifest, err := writeJSON(blobs, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    config,
		Layers:    []ocispec.Descriptor{layer},
	}, ocispec.MediaTypeImageManifest)
	if err != nil {
		return Image{}, err
	}
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{manifest},
	}
	if err := writeFileJSON(filepath.Join(dir, ocispec.ImageIndexFile), index); err != nil {
		return Image{}, err
	}
	if err := writeFileJSON(filepath.Join(dir, ocispec.ImageLayoutFile), ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}); err != nil {
		return Image{}, err
	}
	return Image{Manifest: manifest.Digest, ManifestSize: manifest.Size, Layer: layer.Digest, LayerSize: layer.Size}, nil
}

// writeLayer streams a one-file tar into blobs while hashing it, then renames
// it to its digest.
func writeLayer(ctx context.Context, blobs string, size int64) (ocispec.Descriptor, error) {
	tmp, err := os.CreateTemp(blobs, ".layer-*")
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("create layer: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	counter := &countingWriter{}
	buf := bufio.NewWriterSize(io.MultiWriter(tmp, h, counter), 1<<20)
	if err := writeTar(ctx, buf, size); err != nil {
		tmp.Close()
		return ocispec.Descriptor{}, err
	}
	if err := buf.Flush(); err != nil {
		tmp.Close()
		return ocispec.Descriptor{}, fmt.Errorf("write layer: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("close layer: %w", err)
	}
	dgst := sumDigest(h)
	if err := os.Rename(tmp.Name(), filepath.Join(blobs, dgst.Encoded())); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("store layer: %w", err)
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: dgst, Size: counter.n}, nil
}

// writeTar writes a tar archive holding fileName with size random bytes.
func writeTar(ctx context.Context, w io.Writer, size int64) error {
	tw := tar.NewWriter(w)
	hdr := &tar.Header{Name: fileName, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write tar header: %w", err)
	}
	src, err := randomSource()
	if err != nil {
		return err
	}
	chunk := make([]byte, 1<<20)
	for left := size; left > 0; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("write layer: %w", err)
		}
		n := int64(len(chunk))
		if left < n {
			n = left
		}
		_, _ = src.Read(chunk[:n]) // ChaCha8.Read never fails
		if _, err := tw.Write(chunk[:n]); err != nil {
			return fmt.Errorf("write layer content: %w", err)
		}
		left -= n
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("close tar: %w", err)
	}
	return nil
}

// randomSource is a ChaCha8 stream with a fresh seed from crypto/rand.
func randomSource() (*mrand.ChaCha8, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("seed random layer: %w", err)
	}
	return mrand.NewChaCha8(seed), nil
}

// writeJSON stores v as a blob and returns its descriptor.
func writeJSON(blobs string, v any, mediaType string) (ocispec.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("encode %s: %w", mediaType, err)
	}
	dgst := digest.FromBytes(b)
	if err := os.WriteFile(filepath.Join(blobs, dgst.Encoded()), b, 0o644); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("store %s: %w", mediaType, err)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: dgst, Size: int64(len(b))}, nil
}

func writeFileJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func sumDigest(h hash.Hash) digest.Digest {
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil)))
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
