package scantest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/gzip"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// Blobs is a scan.Blobs over files in a directory, one file per digest.
// Opens counts the blobs opened, so a test can show a scan read none.
type Blobs struct {
	dir string

	mu    sync.Mutex
	opens int
}

var _ scan.Blobs = (*Blobs)(nil)

// NewBlobs keeps blobs in dir (created when missing).
func NewBlobs(dir string) (*Blobs, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &Blobs{dir: dir}, nil
}

// Open streams the stored bytes of d.
func (b *Blobs) Open(ctx context.Context, d oci.Digest) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.opens++
	b.mu.Unlock()
	f, err := os.Open(b.path(d))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	return f, nil
}

// Opens is how many blobs were opened.
func (b *Blobs) Opens() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opens
}

// Path is the file holding d's bytes.
func (b *Blobs) path(d oci.Digest) string { return filepath.Join(b.dir, d.Hex()) }

// Put stores data and returns its descriptor.
func (b *Blobs) Put(mediaType string, data []byte) (oci.Descriptor, error) {
	return b.PutStream(mediaType, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// PutStream stores what write writes, hashing it on the way, and returns
// its descriptor.
func (b *Blobs) PutStream(mediaType string, write func(io.Writer) error) (oci.Descriptor, error) {
	f, err := os.CreateTemp(b.dir, "put-")
	if err != nil {
		return oci.Descriptor{}, err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	cw := &counter{}
	err = write(io.MultiWriter(f, h, cw))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return oci.Descriptor{}, err
	}
	d, err := oci.ParseDigest("sha256:" + hex.EncodeToString(h.Sum(nil)))
	if err != nil {
		return oci.Descriptor{}, err
	}
	if err := os.Rename(f.Name(), b.path(d)); err != nil {
		return oci.Descriptor{}, err
	}
	return oci.Descriptor{MediaType: mediaType, Digest: d, Size: cw.n}, nil
}

// Layer is a layer stored in Blobs: its descriptor, and the digest of its
// uncompressed tar (the config's diff_id).
type Layer struct {
	Desc   oci.Descriptor
	DiffID oci.Digest
}

// PutLayer stores the tar stream writeTar writes as a gzip layer
// (application/vnd.oci.image.layer.v1.tar+gzip), streaming.
func (b *Blobs) PutLayer(writeTar func(io.Writer) error) (Layer, error) {
	diff := sha256.New()
	desc, err := b.PutStream(oci.MediaTypeOCILayerGzip, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
		if err != nil {
			return err
		}
		if err := writeTar(io.MultiWriter(zw, diff)); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return Layer{}, err
	}
	diffID, err := oci.ParseDigest("sha256:" + hex.EncodeToString(diff.Sum(nil)))
	return Layer{Desc: desc, DiffID: diffID}, err
}

// PutMismatched stores a layer whose stored bytes are not the ones its
// descriptor's digest names (the same size, one byte flipped in the
// middle): what a corrupted or tampered object looks like.
func (b *Blobs) PutMismatched(writeTar func(io.Writer) error) (Layer, error) {
	l, err := b.PutLayer(writeTar)
	if err != nil {
		return Layer{}, err
	}
	p := b.path(l.Desc.Digest)
	data, err := os.ReadFile(p)
	if err != nil {
		return Layer{}, err
	}
	if len(data) == 0 {
		return Layer{}, errors.New("empty layer")
	}
	data[len(data)/2] ^= 0xff
	return l, os.WriteFile(p, data, 0o644)
}

// Image stores a config and a manifest for layers (bottom first) and
// returns the image as a scan job names it.
func (b *Blobs) Image(layers ...Layer) (scan.Image, error) {
	diffIDs := make([]string, 0, len(layers))
	descs := make([]oci.Descriptor, 0, len(layers))
	for _, l := range layers {
		diffIDs = append(diffIDs, l.DiffID.String())
		descs = append(descs, l.Desc)
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return scan.Image{}, err
	}
	cfg, err := b.Put(oci.MediaTypeOCIConfig, config)
	if err != nil {
		return scan.Image{}, err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     oci.MediaTypeOCIManifest,
		"config":        cfg,
		"layers":        descs,
	})
	if err != nil {
		return scan.Image{}, err
	}
	m, err := b.Put(oci.MediaTypeOCIManifest, manifest)
	if err != nil {
		return scan.Image{}, err
	}
	return scan.Image{Digest: m.Digest, MediaType: oci.MediaTypeOCIManifest, Config: cfg, Layers: descs}, nil
}

// WriteLayout writes img as an OCI image layout in dir (for the grype CLI:
// `grype oci-dir:<dir>`), linking the blob files where it can.
func (b *Blobs) WriteLayout(dir string, img scan.Image) error {
	blobDir := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return err
	}
	digests := []oci.Digest{img.Digest, img.Config.Digest}
	for _, l := range img.Layers {
		digests = append(digests, l.Digest)
	}
	for _, d := range digests {
		dst := filepath.Join(blobDir, d.Hex())
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := os.Link(b.path(d), dst); err != nil {
			if err := copyFile(b.path(d), dst); err != nil {
				return err
			}
		}
	}
	fi, err := os.Stat(b.path(img.Digest))
	if err != nil {
		return err
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     oci.MediaTypeOCIIndex,
		"manifests": []oci.Descriptor{{
			MediaType: img.MediaType, Digest: img.Digest, Size: fi.Size(),
			Annotations: map[string]string{"org.opencontainers.image.ref.name": "latest"},
		}},
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
