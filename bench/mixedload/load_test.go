package main

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestRunAgainstRegistry runs a short mixed load against go-containerregistry's
// in-memory registry: every operation must succeed, pushes must happen, and
// the verification must pull back every seed and pushed image.
func TestRunAgainstRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	mix, err := parseMix(defaultMix)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Registry: srv.URL, Prefix: "bench", Workers: 4, Pushers: 1, Duration: 300 * time.Millisecond,
		Mix: mix, Seeds: 2, SeedLayers: 2, SeedLayerSize: 4 << 10, PushLayerSize: 4 << 10, Verify: true, Orphans: 1}
	s := &Sampler{fixed: map[string]int{"self": os.Getpid()}, every: 50 * time.Millisecond, procs: map[string]*watchedProc{}}
	out, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	byOp := map[string]OpResult{}
	for _, r := range out.Ops {
		byOp[r.Op] = r
		if r.Errors != 0 {
			t.Errorf("%s: %d errors: %v", r.Op, r.Errors, r.ErrorTexts)
		}
	}
	if out.Pushed == 0 || byOp[opPush].Total != out.Pushed {
		t.Errorf("pushed %d images, push total %d", out.Pushed, byOp[opPush].Total)
	}
	if got, want := byOp[opVerify].Total, out.Pushed+cfg.Seeds; got != want {
		t.Errorf("verified %d images, want %d", got, want)
	}
	if byOp[opPull].Total == 0 {
		t.Error("no pull completed")
	}
	if len(out.Procs) != 1 || out.Procs[0].RSSMaxKB == 0 {
		t.Errorf("sampled %+v, want this process with its RSS", out.Procs)
	}
}

// TestRunSpreadOverAppViews runs the load over two servers in front of one
// registry (a cluster's AppViews), whose upload Locations name an address
// nobody listens on (the cluster's public one): every request must go to
// the servers in turn, Locations included, and succeed.
func TestRunSpreadOverAppViews(t *testing.T) {
	shared := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var mu sync.Mutex
	served := map[string]int{}
	appView := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			served[name]++
			mu.Unlock()
			rec := httptest.NewRecorder()
			shared.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			if loc := rec.Header().Get("Location"); strings.HasPrefix(loc, "/") {
				w.Header().Set("Location", "http://public.invalid"+loc)
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		}))
	}
	a, b := appView("a"), appView("b")
	defer a.Close()
	defer b.Close()
	mix, err := parseMix(defaultMix)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Registry: a.URL, Spread: []string{a.URL, b.URL}, Prefix: "bench", Workers: 4, Pushers: 1, Duration: 300 * time.Millisecond,
		Mix: mix, Seeds: 2, SeedLayers: 2, SeedLayerSize: 4 << 10, PushLayerSize: 4 << 10, Verify: true}
	s := &Sampler{fixed: map[string]int{"self": os.Getpid()}, every: 50 * time.Millisecond, procs: map[string]*watchedProc{}}
	out, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Ops {
		if r.Errors != 0 {
			t.Errorf("%s: %d errors: %v", r.Op, r.Errors, r.ErrorTexts)
		}
	}
	if out.Pushed == 0 {
		t.Error("nothing pushed")
	}
	mu.Lock()
	defer mu.Unlock()
	total := served["a"] + served["b"]
	if total == 0 || served["a"]*10 < total*4 || served["b"]*10 < total*4 {
		t.Errorf("requests served %v, want each AppView about half", served)
	}
}

func TestParseMix(t *testing.T) {
	for _, bad := range []string{"", "pull", "pull=x", "pull=-1", "push=1", "nope=1", "pull=0"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) accepted it", bad)
		}
	}
	m, err := parseMix("pull=2,tag_list=0")
	if err != nil || m["pull"] != 2 {
		t.Errorf("parseMix = %v, %v", m, err)
	}
}

func TestRestartLike(t *testing.T) {
	for err, want := range map[error]bool{
		&transportError{errors.New("connection refused")}:                                true,
		&statusError{http.StatusServiceUnavailable, "503"}:                               true,
		&statusError{http.StatusNotFound, `{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]}`}: true,
		&statusError{http.StatusNotFound, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`}:    false,
		&statusError{http.StatusUnauthorized, "401"}:                                     false,
		errors.New("digest mismatch"):                                                    false,
	} {
		if got := restartLike(err); got != want {
			t.Errorf("restartLike(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestReadTicksOfSelf(t *testing.T) {
	if _, err := readTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	rss, hwm := readStatusKB(os.Getpid())
	if rss <= 0 || hwm < rss {
		t.Errorf("VmRSS %d kB, VmHWM %d kB", rss, hwm)
	}
	if !strings.Contains(pidList([]int{1, 2}), ",") {
		t.Error("pidList")
	}
}
