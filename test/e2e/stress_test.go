//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Stress: concurrent pushes never fail (issue 11). N clients each push M
// fresh images and pull every one back, all at once, through the whole
// stack: /auth/token, the AppView's upload sessions, the hold's
// initiate/part/complete calls, its embedded S3 server (where eight
// clients used to fail one cycle in 200 with "mkdir atcr/uploads/<id>: no
// such file or directory"), the user's PDS for the manifest, and the pull
// back through presigned URLs. Each client is what one crane process does,
// in-process: go-containerregistry's remote.Write and remote.Image with its
// own connection pool and a fresh token per image.
//
// Sizes come from the environment, so one test serves make test and make
// bench (bench/run.sh runs it against the local stack with larger N and M):
//
//	ATCR_STRESS_CLIENTS      N, concurrent clients (default 8, as in the issue)
//	ATCR_STRESS_CYCLES       M, push/pull cycles per client (default 5)
//	ATCR_STRESS_LAYER_BYTES  bytes of random data in each image's one layer (default 2 MiB)
//	ATCR_STRESS_REPORT       when set, a file the figures are written to (key<TAB>value lines)
//
// Every cycle must succeed and every pulled digest (manifest, config,
// layer, each recomputed from the bytes received) must equal the pushed
// one: the test fails on the first failure count above zero and lists the
// failures.
func TestStressConcurrentPushPull(t *testing.T) {
	clients := stressSetting(t, "ATCR_STRESS_CLIENTS", 8)
	cycles := stressSetting(t, "ATCR_STRESS_CYCLES", 5)
	layerBytes := stressSetting(t, "ATCR_STRESS_LAYER_BYTES", 2<<20)
	registry := env(t, "ATCR_REGISTRY")
	alice := regAlice(t)
	var nameOpts []name.Option
	if os.Getenv("ATCR_REGISTRY_SCHEME") == "http" {
		nameOpts = append(nameOpts, name.Insecure)
	}
	auth := remote.WithAuth(&authn.Basic{Username: alice.Handle, Password: alice.Password})

	var (
		mu       sync.Mutex
		failures []string
		pushes   []time.Duration
		pulls    []time.Duration
		wg       sync.WaitGroup
	)
	record := func(push, pull time.Duration, failure string) {
		mu.Lock()
		defer mu.Unlock()
		if failure != "" {
			failures = append(failures, failure)
			return
		}
		pushes, pulls = append(pushes, push), append(pulls, pull)
	}
	start := time.Now()
	for c := range clients {
		repo := registry + "/" + regRepo(alice, fmt.Sprintf("stress/c%d", c))
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := stressClient{
				opts:     []remote.Option{auth, remote.WithTransport(http.DefaultTransport.(*http.Transport).Clone())},
				nameOpts: nameOpts,
			}
			for m := range cycles {
				push, pull, err := client.cycle(repo+":cycle-"+strconv.Itoa(m), layerBytes)
				failure := ""
				if err != nil {
					failure = fmt.Sprintf("client %d cycle %d: %v", c, m, err)
				}
				record(push, pull, failure)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)

	figures := [][2]string{
		{"clients", strconv.Itoa(clients)},
		{"cycles_per_client", strconv.Itoa(cycles)},
		{"cycles", strconv.Itoa(clients * cycles)},
		{"failures", strconv.Itoa(len(failures))},
		{"layer_bytes", strconv.Itoa(layerBytes)},
		{"wall_seconds", fmt.Sprintf("%.1f", wall.Seconds())},
		{"cycles_per_second", fmt.Sprintf("%.2f", float64(clients*cycles)/wall.Seconds())},
		{"push_ms_p50_p95_max", stressPercentiles(pushes)},
		{"pull_ms_p50_p95_max", stressPercentiles(pulls)},
	}
	var line strings.Builder
	for _, f := range figures {
		fmt.Fprintf(&line, " %s=%s", f[0], f[1])
	}
	t.Logf("stress:%s", line.String())
	if path := os.Getenv("ATCR_STRESS_REPORT"); path != "" {
		var out strings.Builder
		for _, f := range figures {
			fmt.Fprintf(&out, "%s\t%s\n", f[0], f[1])
		}
		for _, f := range failures {
			fmt.Fprintf(&out, "failure\t%s\n", strings.ReplaceAll(f, "\n", " "))
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
			t.Errorf("write %s: %v", path, err)
		}
	}
	if len(failures) > 0 {
		t.Fatalf("%d of %d push/pull cycles failed:\n%s", len(failures), clients*cycles, strings.Join(failures[:min(len(failures), 10)], "\n"))
	}
}

// stressClient is one client of the stress test: its own connection pool,
// as a separate crane process would have.
type stressClient struct {
	opts     []remote.Option
	nameOpts []name.Option
}

// stressCycleTimeout bounds one push or pull; the test's whole run is
// bounded by N × M of them.
const stressCycleTimeout = 2 * time.Minute

// cycle pushes a fresh image to ref and pulls it back, checking every
// digest against the bytes received. It returns the push and pull times.
func (c stressClient) cycle(ref string, layerBytes int) (push, pull time.Duration, err error) {
	img, err := stressImage(layerBytes)
	if err != nil {
		return 0, 0, err
	}
	want, err := img.Digest()
	if err != nil {
		return 0, 0, err
	}
	tag, err := name.ParseReference(ref, c.nameOpts...)
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), stressCycleTimeout)
	defer cancel()
	t0 := time.Now()
	if err := remote.Write(tag, img, append(c.opts, remote.WithContext(ctx))...); err != nil {
		return 0, 0, fmt.Errorf("push %s: %w", ref, err)
	}
	push = time.Since(t0)

	ctx, cancel = context.WithTimeout(context.Background(), stressCycleTimeout)
	defer cancel()
	t1 := time.Now()
	if err := c.pullAndCheck(ctx, tag, img, want); err != nil {
		return push, 0, fmt.Errorf("pull %s: %w", ref, err)
	}
	return push, time.Since(t1), nil
}

// pullAndCheck pulls tag's manifest, config and layers and compares the
// digest of each, computed here from the bytes, with the pushed image's.
func (c stressClient) pullAndCheck(ctx context.Context, tag name.Reference, pushed v1.Image, want v1.Hash) error {
	desc, err := remote.Get(tag, append(c.opts, remote.WithContext(ctx))...)
	if err != nil {
		return err
	}
	if got := stressDigest(desc.Manifest); got != want.String() || desc.Digest != want {
		return fmt.Errorf("manifest digest %s (header %s), pushed %s", got, desc.Digest, want)
	}
	pulled, err := desc.Image()
	if err != nil {
		return err
	}
	rawConfig, err := pulled.RawConfigFile()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	wantConfig, _ := pushed.ConfigName()
	if got := stressDigest(rawConfig); got != wantConfig.String() {
		return fmt.Errorf("config digest %s, pushed %s", got, wantConfig)
	}
	layers, err := pulled.Layers()
	if err != nil {
		return err
	}
	wantLayers, _ := pushed.Layers()
	if len(layers) != len(wantLayers) {
		return fmt.Errorf("%d layers, pushed %d", len(layers), len(wantLayers))
	}
	for i, l := range layers {
		wantLayer, _ := wantLayers[i].Digest()
		got, err := stressLayerDigest(l)
		if err != nil {
			return fmt.Errorf("layer %s: %w", wantLayer, err)
		}
		if got != wantLayer.String() {
			return fmt.Errorf("layer digest %s, pushed %s", got, wantLayer)
		}
	}
	return nil
}

// stressImage is a fresh single-layer image: layerBytes random bytes as an
// uncompressed layer (no gzip time on the client), and a config that names
// them.
func stressImage(layerBytes int) (v1.Image, error) {
	data := make([]byte, layerBytes)
	if _, err := rand.Read(data); err != nil {
		return nil, err
	}
	layer := static.NewLayer(data, types.OCIUncompressedLayer)
	img, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	return mutate.ConfigFile(img, cfg)
}

// stressLayerDigest reads a pulled layer's blob whole and hashes it.
func stressLayerDigest(l v1.Layer) (string, error) {
	rc, err := l.Compressed()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func stressDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// stressSetting reads a positive integer from the environment, or def.
func stressSetting(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// stressPercentiles formats p50/p95/max of ds in milliseconds.
func stressPercentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) int64 { return s[min(len(s)-1, int(p*float64(len(s))))].Milliseconds() }
	return fmt.Sprintf("%d/%d/%d", at(0.50), at(0.95), s[len(s)-1].Milliseconds())
}
