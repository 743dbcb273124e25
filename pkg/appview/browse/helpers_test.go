package browse_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/oci"
)

// testEnv is the storage test environment (a fake PDS over HTTP, a hold,
// the real storage.Store that writes records as the registry does) with a
// browse.Service reading the same PDS.
type testEnv struct {
	*storagetest.Env
	svc   *browse.Service
	clock *testclock.Clock
	alice storagetest.User
}

func newTestEnv(t *testing.T) *testEnv { return newTestEnvWith(t, nil) }

// newTestEnvWith lets a test adjust the service's options.
func newTestEnvWith(t *testing.T, adjust func(*browse.Options)) *testEnv {
	t.Helper()
	e := &testEnv{Env: storagetest.NewEnv(t, storagetest.EnvOptions{}), clock: testclock.New(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC))}
	e.alice = e.AddUser("alice.test")
	opts := browse.Options{Directory: e.Dir, HTTP: storagetest.HTTPOptions, Logger: storagetest.Logger(t), Now: e.clock.Now}
	if adjust != nil {
		adjust(&opts)
	}
	svc, err := browse.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

func repoName(t testing.TB, s string) oci.Repository {
	t.Helper()
	r, err := oci.ParseRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// blob uploads data into the repository's push hold.
func (e *testEnv) blob(t testing.TB, repo registry.Repo, mediaType string, data []byte) map[string]any {
	t.Helper()
	ctx := t.Context()
	d := oci.FromBytes(oci.SHA256, data)
	up, err := e.Store.StartUpload(ctx, repo, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.WriteUpload(ctx, repo, up.ID, registry.Chunk{Start: 0, Size: int64(len(data)), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.FinishUpload(ctx, repo, up.ID, d); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"mediaType": mediaType, "digest": d.String(), "size": len(data)}
}

// push stores a manifest through the storage layer, with its tags.
func (e *testEnv) push(t testing.TB, repo registry.Repo, manifest map[string]any, tags ...string) oci.Digest {
	t.Helper()
	body, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := oci.ParseManifest(manifest["mediaType"].(string), body)
	if err != nil {
		t.Fatal(err)
	}
	put := registry.ManifestPut{Digest: oci.FromBytes(oci.SHA256, body), Manifest: m, Body: body}
	for _, tag := range tags {
		tg, err := oci.ParseTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		put.Tags = append(put.Tags, tg)
	}
	if err := e.Store.PutManifest(t.Context(), repo, put); err != nil {
		t.Fatalf("push %s: %v", repo.Name, err)
	}
	return put.Digest
}

// image pushes a config and layers of the given sizes and an image
// manifest for them.
func (e *testEnv) image(t testing.TB, repo registry.Repo, arch string, annotations map[string]string, layerSizes []int, tags ...string) oci.Digest {
	t.Helper()
	cfg := e.blob(t, repo, oci.MediaTypeOCIConfig, []byte(`{"architecture":"`+arch+`","os":"linux"}`))
	layers := []any{}
	for i, n := range layerSizes {
		data := bytes.Repeat([]byte{byte(i + 1), byte(n)}, n/2)
		layers = append(layers, e.blob(t, repo, oci.MediaTypeOCILayerGzip, data))
	}
	m := map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeOCIManifest, "config": cfg, "layers": layers}
	if annotations != nil {
		m["annotations"] = annotations
	}
	return e.push(t, repo, m, tags...)
}
