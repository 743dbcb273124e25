package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// opVerify is the pull-back of every pushed image after the run.
const opVerify = "verify"

// pushRepos is how many repositories the pushes spread over.
const pushRepos = 4

// Config is one load run.
type Config struct {
	Registry      string   // base URL (the first of Spread when there are several)
	Spread        []string // with several: base URLs every request goes to in turn
	Prefix        string   // repository namespace, e.g. alice.test
	Workers       int      // all clients, pushers included
	Pushers       int      // clients that only push fresh images; the others read by Mix
	Duration      time.Duration
	Warmup        time.Duration
	Mix           map[string]int // read operation → weight
	Seeds         int            // images pulled by the pull and manifest operations
	SeedLayers    int
	SeedLayerSize int
	PushLayerSize int
	Retry         bool            // retry attempts that fail like a restart does (the soak)
	RetryFor      time.Duration   // give up on an operation after retrying this long
	Verify        bool            // pull back every pushed image after the run
	Orphans       int             // blobs uploaded before the run that no manifest references (for a GC to collect)
	Started       func(time.Time) // called when the load starts (after seeding)
	Username      string
	Password      string
}

// parseMix reads "pull=3,manifest_get_tag=2,…" (read operations only: the
// pushes have their own clients, so a slow push does not starve the reads);
// unknown names and negative weights are errors, and at least one weight must
// be positive.
func parseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 || name == opPush || !slices.Contains(allOps, name) {
			return nil, fmt.Errorf("-mix %q: want name=weight pairs, names %s", s, strings.Join(slices.DeleteFunc(slices.Clone(allOps), func(o string) bool { return o == opPush }), ", "))
		}
		mix[name] = n
		total += n
	}
	if total == 0 {
		return nil, fmt.Errorf("-mix %q: no positive weight", s)
	}
	return mix, nil
}

// Outcome is what a run measured.
type Outcome struct {
	Window  time.Duration
	Ops     []OpResult
	Procs   []ProcResult
	Curve   []CurvePoint
	Renewed int // token renewals during the run
	NoReset []string
	Pushed  int
}

// loader is the state of one run shared by its workers.
type loader struct {
	cfg    Config
	reg    *Registry
	runID  string
	seeds  []Image
	tally  *tally
	picks  []string // one entry per unit of weight
	mu     sync.Mutex
	pushed []Image
}

// Run seeds the registry, loads it with cfg.Workers workers for
// cfg.Warmup+cfg.Duration while s samples the processes, then (cfg.Verify)
// pulls back every image it pushed.
func Run(ctx context.Context, cfg Config, s *Sampler) (Outcome, error) {
	var id [3]byte
	_, _ = rand.Read(id[:])
	l := &loader{cfg: cfg, runID: hex.EncodeToString(id[:])}
	for _, op := range allOps {
		for range cfg.Mix[op] {
			l.picks = append(l.picks, op)
		}
	}
	l.reg = &Registry{base: cfg.Registry, client: newHTTPClient(cfg.Workers), username: cfg.Username, password: cfg.Password}
	if len(cfg.Spread) > 1 {
		l.reg.spread = cfg.Spread
	}
	for i := range cfg.Seeds {
		l.reg.scopes = append(l.reg.scopes, "repository:"+l.seedRepo(i)+":pull,push")
	}
	for i := range pushRepos {
		l.reg.scopes = append(l.reg.scopes, "repository:"+l.pushRepo(i)+":pull,push")
	}
	if err := l.reg.connect(ctx); err != nil {
		return Outcome{}, err
	}
	if err := l.seed(ctx); err != nil {
		return Outcome{}, err
	}
	if err := l.orphans(ctx); err != nil {
		return Outcome{}, err
	}
	out := Outcome{NoReset: s.reset()}
	start := time.Now()
	if cfg.Started != nil {
		cfg.Started(start)
	}
	s.start = start
	l.tally = newTally(start)
	stop, sampled := make(chan struct{}), make(chan struct{})
	go s.Run(stop, sampled)
	renewals := l.reg.renewals
	measureFrom, end := start.Add(cfg.Warmup), start.Add(cfg.Warmup+cfg.Duration)
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Go(func() { l.work(ctx, w, measureFrom, end) })
	}
	wg.Wait()
	close(stop)
	<-sampled
	out.Window = cfg.Duration
	out.Renewed = l.reg.renewals - renewals
	out.Procs = s.results()
	out.Curve = s.points
	if cfg.Verify {
		l.verify(ctx)
	}
	out.Ops = l.tally.results(cfg.Duration)
	out.Pushed = len(l.pushed)
	return out, ctx.Err()
}

func (l *loader) seedRepo(i int) string { return fmt.Sprintf("%s/mixed-seed-%d", l.cfg.Prefix, i) }
func (l *loader) pushRepo(i int) string { return fmt.Sprintf("%s/mixed-push-%d", l.cfg.Prefix, i) }

// seed pushes the images the pull and manifest operations read (untimed).
func (l *loader) seed(ctx context.Context) error {
	rng := newRNG()
	for i := range l.cfg.Seeds {
		img, err := buildImage(rng, l.seedRepo(i), "s-"+l.runID, l.cfg.SeedLayers, l.cfg.SeedLayerSize)
		if err != nil {
			return err
		}
		if err := push(ctx, l.reg, img, 1); err != nil {
			return fmt.Errorf("seed %s:%s: %w", img.Repo, img.Tag, err)
		}
		l.seeds = append(l.seeds, img)
	}
	return nil
}

// orphans uploads cfg.Orphans random blobs and never references them.
func (l *loader) orphans(ctx context.Context) error {
	rng := newRNG()
	for i := range l.cfg.Orphans {
		data := make([]byte, 64<<10)
		_, _ = rng.Read(data)
		if err := pushBlob(ctx, l.reg, l.pushRepo(0), newBlob(data), 1); err != nil {
			return fmt.Errorf("orphan blob %d: %w", i, err)
		}
	}
	return nil
}

// work runs operations until end: pushes for the first cfg.Pushers workers,
// reads picked by weight for the others. Each counts in the window when it
// started at or after measureFrom and ended by end.
func (l *loader) work(ctx context.Context, w int, measureFrom, end time.Time) {
	rng := newRNG()
	pick := mrand.New(rng)
	pushes := 0
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(end) {
			return
		}
		op := opPush
		if w >= l.cfg.Pushers {
			op = l.picks[pick.IntN(len(l.picks))]
		}
		seed := l.seeds[pick.IntN(len(l.seeds))]
		var once func() error
		switch op {
		case opPull:
			once = func() error { return pull(ctx, l.reg, seed) }
		case opHeadTag:
			once = func() error { return headManifest(ctx, l.reg, seed.Repo, seed.Tag, seed.Manifest.digest) }
		case opGetTag:
			once = func() error { _, err := getManifest(ctx, l.reg, seed.Repo, seed.Tag, seed.Manifest.digest); return err }
		case opGetDigest:
			once = func() error {
				_, err := getManifest(ctx, l.reg, seed.Repo, seed.Manifest.digest, seed.Manifest.digest)
				return err
			}
		case opTagList:
			once = func() error { return tagList(ctx, l.reg, seed.Repo, seed.Tag) }
		case opPush:
			pushes++
			tag := fmt.Sprintf("%s-w%d-%d", l.runID, w, pushes)
			img, err := buildImage(rng, l.pushRepo(w%pushRepos), tag, 1, l.cfg.PushLayerSize)
			if err != nil {
				l.tally.fail(op, err)
				continue
			}
			chunks := 1 + pushes%2 // every other push in two PATCHes with Content-Range
			once = func() error {
				if err := push(ctx, l.reg, img, chunks); err != nil {
					return err
				}
				l.mu.Lock()
				l.pushed = append(l.pushed, img)
				l.mu.Unlock()
				return nil
			}
		}
		if err := l.attempt(ctx, op, once); err != nil {
			if ctx.Err() == nil {
				l.tally.fail(op, err)
			}
			continue
		}
		t1 := time.Now()
		l.tally.ok(op, t1.Sub(t0), !t0.Before(measureFrom) && !t1.After(end))
	}
}

// attempt runs once; with cfg.Retry it retries attempts that failed like
// an AppView restart makes them fail, for up to cfg.RetryFor, counting each.
func (l *loader) attempt(ctx context.Context, op string, once func() error) error {
	first := time.Now()
	backoff := 250 * time.Millisecond
	for {
		err := once()
		if err == nil || !l.cfg.Retry || !restartLike(err) || time.Since(first) > l.cfg.RetryFor {
			return err
		}
		l.tally.retry(op, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// restartLike: no response at all, a gateway's 502/503/504, or an upload
// session the registry no longer knows (kept in a restarted AppView's memory).
func restartLike(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var se *statusError
	if errors.As(err, &se) {
		switch se.status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		case http.StatusNotFound:
			return strings.Contains(se.text, "BLOB_UPLOAD_UNKNOWN")
		}
	}
	return false
}

// verify pulls back every seed and every pushed image and checks every
// digest (the soak's "nothing lost").
func (l *loader) verify(ctx context.Context) {
	all := slices.Concat(l.seeds, l.pushed)
	next := make(chan Image)
	var wg sync.WaitGroup
	for range min(l.cfg.Workers, 8) {
		wg.Go(func() {
			for img := range next {
				t0 := time.Now()
				if err := pull(ctx, l.reg, img); err != nil {
					l.tally.fail(opVerify, fmt.Errorf("%s:%s (%s): %w", img.Repo, img.Tag, img.Manifest.digest, err))
					continue
				}
				l.tally.ok(opVerify, time.Since(t0), true)
			}
		})
	}
	for _, img := range all {
		next <- img
	}
	close(next)
	wg.Wait()
}
