//go:build !race

// The race detector changes what the heap holds (sync.Pool drops pooled
// buffers at random under -race, and instrumented code allocates more; the
// peak measured 101 MiB against 53 MiB without it), so a heap bound means
// nothing there: this file is built only without -race, and `make unit`
// runs it in a second, race-free pass.

package registry_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/appview/uploads"
)

// TestStreamedPatchHeapIsBounded pushes 160 MiB in one streamed PATCH
// through the registry to the embedded S3 server (objects on disk) and
// checks that the process heap never grows by more than 96 MiB: the bytes
// pass through at most three part buffers (uploads.DefaultPartSize; one
// filling, two being sent), never whole; the rest of the bound is the
// in-process S3 server's and hold's own buffers. It asserts memory, not
// time.
func TestStreamedPatchHeapIsBounded(t *testing.T) {
	const size = 160 << 20
	const bound = 96 << 20
	env := newTestEnv(t, storagetest.EnvOptions{S3: storagetest.EmbeddedS3(t)})
	loc := env.startSession(t, env.alice, "alice.test/big")

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	peak := newPeakSampler(base.HeapInuse)

	body := &generator{left: size, rng: rand.NewChaCha8([32]byte{1}), sum: sha256.New()}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, env.srv.URL+loc, body)
	req.ContentLength = -1 // streamed (chunked), length unknown up front
	req.Header.Set("Authorization", "Bearer "+tokenFor(env.alice))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	expectStatus(t, resp, http.StatusAccepted)
	digest := "sha256:" + hex.EncodeToString(body.sum.Sum(nil))
	put := env.call(t, env.alice, http.MethodPut, resp.Header.Get("Location")+"?digest="+digest, nil, nil)
	expectStatus(t, put, http.StatusCreated)
	growth := peak.stop()

	t.Logf("peak HeapInuse growth while streaming %d MiB: %.1f MiB (bound %d MiB)", size>>20, float64(growth)/(1<<20), bound>>20)
	if growth >= bound {
		t.Fatalf("heap grew by %d bytes streaming %d bytes; bound %d", growth, size, bound)
	}
	head := env.call(t, env.alice, http.MethodHead, "/v2/alice.test/big/blobs/"+digest, nil, nil)
	expectStatus(t, head, http.StatusOK)
	if head.Header.Get("Content-Length") != fmt.Sprint(size) {
		t.Fatalf("stored size %s", head.Header.Get("Content-Length"))
	}
	if c, parts := env.Hold.Completed(), size/uploads.DefaultPartSize; len(c) != 1 || c[0].Parts != parts {
		t.Fatalf("completed %+v, want %d parts of %d MiB", c, parts, uploads.DefaultPartSize>>20)
	}
}

// peakSampler records the highest HeapInuse above a base.
type peakSampler struct {
	base uint64
	max  uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func newPeakSampler(base uint64) *peakSampler {
	p := &peakSampler{base: base, max: base, done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			p.max = max(p.max, ms.HeapInuse)
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) stop() uint64 {
	close(p.done)
	p.wg.Wait()
	return p.max - p.base
}
