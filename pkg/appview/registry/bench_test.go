package registry_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"atcr.io/pkg/appview/storage/storagetest"
)

// BenchmarkStreamedUpload pushes 64 MiB per iteration (one streamed PATCH,
// then PUT ?digest=) through the registry to the embedded S3 server: part
// buffering, presigned part PUTs, and the fake hold's digest check, which
// reads the blob back. Run with -benchtime=5x; it reports MB/s.
func BenchmarkStreamedUpload(b *testing.B) {
	const size = 64 << 20
	env := newTestEnv(b, storagetest.EnvOptions{S3: storagetest.EmbeddedS3(b)})
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		loc := env.startSession(b, env.alice, "alice.test/bench")
		body := &generator{left: size, rng: rand.NewChaCha8([32]byte{byte(i), 2}), sum: sha256.New()}
		req, _ := http.NewRequestWithContext(b.Context(), http.MethodPatch, env.srv.URL+loc, body)
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+tokenFor(env.alice))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		expectStatus(b, resp, http.StatusAccepted)
		digest := "sha256:" + hex.EncodeToString(body.sum.Sum(nil))
		expectStatus(b, env.call(b, env.alice, http.MethodPut, resp.Header.Get("Location")+"?digest="+digest, nil, nil), http.StatusCreated)
	}
}

// BenchmarkManifestGet measures GET /manifests/<tag> once tag and bytes are
// cached: the AppView's own cost per pull of a manifest.
func BenchmarkManifestGet(b *testing.B) {
	env := newTestEnv(b, storagetest.EnvOptions{})
	cfg := []byte(`{"os":"linux"}`)
	env.pushBlob(b, env.alice, "alice.test/app", cfg)
	body := imageManifest(b, [][]byte{cfg}, nil)
	expectStatus(b, env.call(b, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/v1", body,
		map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}), http.StatusCreated)
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, env.srv.URL+"/v2/alice.test/app/manifests/v1", nil)
		req.Header.Set("Authorization", "Bearer anon")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
