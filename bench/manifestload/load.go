package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"atcr.io/pkg/oci"
)

// maxManifest bounds a manifest body: the OCI spec's suggested limit.
const maxManifest = 4 << 20

// acceptManifests is what docker and crane send when pulling by digest.
var acceptManifests = []string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}

// Config is one load run.
type Config struct {
	Registry    string // base URL, no trailing slash
	Repo        string
	Digest      oci.Digest
	Concurrency int
	Duration    time.Duration // measured
	Warmup      time.Duration // before the measured window, not counted
	Username    string
	Password    string
}

func (c Config) validate() error {
	switch {
	case c.Registry == "" || c.Repo == "":
		return errors.New("-registry and -repo are required")
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return fmt.Errorf("-c %d: want 1-1024", c.Concurrency)
	case c.Duration <= 0 || c.Warmup < 0:
		return errors.New("-d must be positive and -warmup not negative")
	}
	return nil
}

func (c Config) manifestURL() string {
	return c.Registry + "/v2/" + c.Repo + "/manifests/" + c.Digest.String()
}

// Result is what a run measured: only verified 200s in the measured window.
type Result struct {
	Requests      int
	Duration      time.Duration
	P50, P99, Max time.Duration
	Concurrency   int
}

// RPS is requests per second over the measured window.
func (r Result) RPS() float64 { return float64(r.Requests) / r.Duration.Seconds() }

func (r Result) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("requests=%d duration=%.2fs rps=%.1f p50_ms=%s p99_ms=%s max_ms=%s c=%d",
		r.Requests, r.Duration.Seconds(), r.RPS(), ms(r.P50), ms(r.P99), ms(r.Max), r.Concurrency)
}

// NewClient returns a client keeping up to c idle connections to one host
// and never following redirects (a redirected manifest GET is an error here).
func NewClient(c int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * c
	tr.MaxIdleConnsPerHost = c
	tr.DisableCompression = true
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run authenticates once, then loads the registry for cfg.Warmup+cfg.Duration
// and stops at the first failed request.
func Run(ctx context.Context, client *http.Client, cfg Config) (Result, error) {
	auth, err := probe(ctx, client, cfg)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now().Add(cfg.Warmup)
	end := start.Add(cfg.Duration)
	lat := make([][]time.Duration, cfg.Concurrency)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Go(func() {
			buf := make([]byte, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				var ferr error
				if buf, ferr = fetch(ctx, client, cfg, auth, buf); ferr != nil {
					cancel(ferr)
					return
				}
				if t1 := time.Now(); !t0.Before(start) && !t1.After(end) {
					lat[w] = append(lat[w], t1.Sub(t0))
				}
			}
		})
	}
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return Result{}, cause
	}
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return Result{}, errors.New("no request completed inside the measured window")
	}
	slices.Sort(all)
	return Result{
		Requests:    len(all),
		Duration:    cfg.Duration,
		P50:         all[len(all)/2],
		P99:         all[(len(all)*99)/100],
		Max:         all[len(all)-1],
		Concurrency: cfg.Concurrency,
	}, nil
}

// probe sends one anonymous GET; on a 401 it authorizes and checks that the
// authorized GET succeeds. It returns the Authorization header to use.
func probe(ctx context.Context, client *http.Client, cfg Config) (string, error) {
	req, err := newRequest(ctx, cfg, "")
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", cfg.manifestURL(), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxManifest))
	resp.Body.Close()
	auth, err := authorize(ctx, client, cfg, resp)
	if err != nil {
		return "", err
	}
	if _, err := fetch(ctx, client, cfg, auth, nil); err != nil {
		return "", err
	}
	return auth, nil
}

func newRequest(ctx context.Context, cfg Config, auth string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.manifestURL(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for _, a := range acceptManifests {
		req.Header.Add("Accept", a)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req, nil
}

// fetch GETs the manifest once and verifies status and content; buf is
// reused for the body.
func fetch(ctx context.Context, client *http.Client, cfg Config, auth string, buf []byte) ([]byte, error) {
	req, err := newRequest(ctx, cfg, auth)
	if err != nil {
		return buf, err
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return buf, context.Cause(ctx)
		}
		return buf, fmt.Errorf("GET %s: %w", cfg.manifestURL(), err)
	}
	defer resp.Body.Close()
	buf, err = readAll(resp.Body, buf[:0])
	if err != nil {
		return buf, fmt.Errorf("read manifest: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return buf, fmt.Errorf("GET %s: status %d (want 200): %.200s", cfg.manifestURL(), resp.StatusCode, bytes.TrimSpace(buf))
	}
	if got := oci.FromBytes(cfg.Digest.Algorithm(), buf); got != cfg.Digest {
		return buf, fmt.Errorf("GET %s: body has digest %s", cfg.manifestURL(), got)
	}
	return buf, nil
}

// readAll is io.ReadAll into a reused buffer, bounded by maxManifest.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	lr := io.LimitReader(r, maxManifest+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > maxManifest {
			return buf, fmt.Errorf("manifest over %d bytes", maxManifest)
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
