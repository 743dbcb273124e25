package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

const (
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar"
)

// acceptManifests is what docker and crane send when pulling.
var acceptManifests = []string{
	mediaManifest,
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}

// blob is content with its digest.
type blob struct {
	digest string
	data   []byte
}

func newBlob(data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{"sha256:" + hex.EncodeToString(sum[:]), data}
}

// Image is a built image: its blobs (config first) and manifest.
type Image struct {
	Repo, Tag string
	Manifest  blob
	Blobs     []blob // config, then the layers
}

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int    `json:"size"`
}

type manifestDoc struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

// newRNG is a ChaCha8 stream seeded from crypto/rand: fast, incompressible
// and unique per worker, so no registry can skip an upload it has seen.
func newRNG() *mrand.ChaCha8 {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	return mrand.NewChaCha8(seed)
}

// buildImage makes an image of `layers` uncompressed tar layers, each one
// file of size random bytes (digest = diff_id), and its config.
func buildImage(rng *mrand.ChaCha8, repo, tag string, layers, size int) (Image, error) {
	img := Image{Repo: repo, Tag: tag}
	diffIDs := make([]string, 0, layers)
	var layerBlobs []blob
	for i := range layers {
		content := make([]byte, size)
		_, _ = rng.Read(content)
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		hdr := &tar.Header{Name: "data-" + strconv.Itoa(i), Mode: 0o644, Size: int64(size), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return img, fmt.Errorf("tar header: %w", err)
		}
		if _, err := tw.Write(content); err != nil {
			return img, fmt.Errorf("tar content: %w", err)
		}
		if err := tw.Close(); err != nil {
			return img, fmt.Errorf("tar close: %w", err)
		}
		b := newBlob(buf.Bytes())
		layerBlobs = append(layerBlobs, b)
		diffIDs = append(diffIDs, b.digest)
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return img, fmt.Errorf("config: %w", err)
	}
	cfg := newBlob(config)
	doc := manifestDoc{SchemaVersion: 2, MediaType: mediaManifest,
		Config: descriptor{mediaConfig, cfg.digest, len(cfg.data)}}
	for _, l := range layerBlobs {
		doc.Layers = append(doc.Layers, descriptor{mediaLayer, l.digest, len(l.data)})
	}
	m, err := json.Marshal(doc)
	if err != nil {
		return img, fmt.Errorf("manifest: %w", err)
	}
	img.Manifest = newBlob(m)
	img.Blobs = append([]blob{cfg}, layerBlobs...)
	return img, nil
}

// push uploads img as crane does: for each blob a HEAD (skip it if present),
// POST to open an upload, PATCH(es) with the bytes, PUT ?digest= to commit;
// then PUT the manifest by tag. chunks > 1 splits each blob into that many
// PATCHes with Content-Range (a chunked upload); 1 is crane's streamed one.
func push(ctx context.Context, reg *Registry, img Image, chunks int) error {
	for _, b := range img.Blobs {
		if err := pushBlob(ctx, reg, img.Repo, b, chunks); err != nil {
			return err
		}
	}
	h := http.Header{"Content-Type": {mediaManifest}}
	resp, err := reg.do(ctx, http.MethodPut, "/v2/"+img.Repo+"/manifests/"+img.Tag, h, img.Manifest.data)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return unexpected(resp, "201")
	}
	drain(resp)
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != img.Manifest.digest {
		return fmt.Errorf("PUT manifest %s:%s: registry says digest %s, pushed %s", img.Repo, img.Tag, got, img.Manifest.digest)
	}
	return nil
}

func pushBlob(ctx context.Context, reg *Registry, repo string, b blob, chunks int) error {
	resp, err := reg.do(ctx, http.MethodHead, "/v2/"+repo+"/blobs/"+b.digest, nil, nil)
	if err != nil {
		return err
	}
	drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
	default:
		return fmt.Errorf("HEAD blob %s: status %d (want 200 or 404)", b.digest, resp.StatusCode)
	}
	resp, err = reg.do(ctx, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, []byte{})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return unexpected(resp, "202")
	}
	drain(resp)
	loc, err := reg.resolve(resp)
	if err != nil {
		return err
	}
	step := (len(b.data) + chunks - 1) / chunks
	for off := 0; off < len(b.data); off += step {
		end := min(off+step, len(b.data))
		h := http.Header{"Content-Type": {"application/octet-stream"}}
		if chunks > 1 {
			h.Set("Content-Range", fmt.Sprintf("%d-%d", off, end-1))
		}
		resp, err = reg.do(ctx, http.MethodPatch, loc, h, b.data[off:end])
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusAccepted {
			return unexpected(resp, "202")
		}
		drain(resp)
		if loc, err = reg.resolve(resp); err != nil {
			return err
		}
	}
	commit, err := withQuery(loc, "digest", b.digest)
	if err != nil {
		return err
	}
	resp, err = reg.do(ctx, http.MethodPut, commit, http.Header{"Content-Type": {"application/octet-stream"}}, []byte{})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return unexpected(resp, "201")
	}
	drain(resp)
	return nil
}
