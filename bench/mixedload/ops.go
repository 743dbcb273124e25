package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
)

// Operation names, in report order.
const (
	opPull      = "pull"
	opPush      = "push"
	opHeadTag   = "manifest_head_tag"
	opGetTag    = "manifest_get_tag"
	opGetDigest = "manifest_get_digest"
	opTagList   = "tag_list"
)

var allOps = []string{opPull, opPush, opHeadTag, opGetTag, opGetDigest, opTagList}

// pull fetches img's manifest by tag, then its config and layers (following
// the registry's redirects), and checks every digest.
func pull(ctx context.Context, reg *Registry, img Image) error {
	body, err := getManifest(ctx, reg, img.Repo, img.Tag, img.Manifest.digest)
	if err != nil {
		return err
	}
	var doc manifestDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("decode manifest %s:%s: %w", img.Repo, img.Tag, err)
	}
	for _, d := range append([]descriptor{doc.Config}, doc.Layers...) {
		if err := getBlob(ctx, reg, img.Repo, d); err != nil {
			return err
		}
	}
	return nil
}

// getManifest GETs a manifest by tag or digest and checks that the body
// hashes to want.
func getManifest(ctx context.Context, reg *Registry, repo, ref, want string) ([]byte, error) {
	resp, err := reg.do(ctx, http.MethodGet, "/v2/"+repo+"/manifests/"+ref, http.Header{"Accept": acceptManifests}, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, unexpected(resp, "200")
	}
	body, err := readSmall(resp)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s@%s: %w", repo, ref, err)
	}
	if got := sha256Digest(body); got != want {
		return nil, fmt.Errorf("GET manifest %s:%s: body is %s, want %s", repo, ref, got, want)
	}
	return body, nil
}

// headManifest HEADs a manifest and checks Docker-Content-Digest.
func headManifest(ctx context.Context, reg *Registry, repo, ref, want string) error {
	resp, err := reg.do(ctx, http.MethodHead, "/v2/"+repo+"/manifests/"+ref, http.Header{"Accept": acceptManifests}, nil)
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HEAD manifest %s:%s: status %d (want 200)", repo, ref, resp.StatusCode)
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != want {
		return fmt.Errorf("HEAD manifest %s:%s: Docker-Content-Digest %q, want %s", repo, ref, got, want)
	}
	return nil
}

// getBlob downloads a blob and checks its size and digest.
func getBlob(ctx context.Context, reg *Registry, repo string, d descriptor) error {
	resp, err := reg.do(ctx, http.MethodGet, "/v2/"+repo+"/blobs/"+d.Digest, nil, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return unexpected(resp, "200 (after redirects)")
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return &transportError{fmt.Errorf("read blob %s: %w", d.Digest, err)}
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.Digest || n != int64(d.Size) {
		return fmt.Errorf("GET blob %s: got %d bytes hashing to %s", d.Digest, n, got)
	}
	return nil
}

// tagList lists repo's tags and checks that want is among them.
func tagList(ctx context.Context, reg *Registry, repo, want string) error {
	resp, err := reg.do(ctx, http.MethodGet, "/v2/"+repo+"/tags/list", nil, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return unexpected(resp, "200")
	}
	body, err := readSmall(resp)
	if err != nil {
		return fmt.Errorf("read tag list: %w", err)
	}
	var list struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("decode tag list of %s: %w", repo, err)
	}
	if !slices.Contains(list.Tags, want) {
		return fmt.Errorf("tag list of %s lacks %q: %.200s", repo, want, body)
	}
	return nil
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// withQuery adds key=value to an upload URL, keeping its own query (the
// upload state some registries put there).
func withQuery(raw, key, value string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("upload URL %q: %w", raw, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
