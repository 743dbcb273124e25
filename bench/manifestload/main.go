// Command manifestload measures how many manifest GETs by digest a registry
// answers per second: c workers, each on its own keep-alive connection, send
// GET /v2/<repo>/manifests/<digest> with the OCI and Docker manifest Accept
// headers for a fixed time after a short warm-up.
//
//	MANIFESTLOAD_USERNAME=alice.test MANIFESTLOAD_PASSWORD=… \
//	  manifestload -registry http://127.0.0.1:5000 -repo alice.test/bench-50m-1 \
//	  -digest sha256:… -c 16 -d 10s
//
// Credentials come from the environment (never the command line, where ps
// shows them). When the registry answers 401 with a Bearer challenge, a token
// is fetched once from the challenge's realm (the AppView's /auth/token) and
// reused; a Basic challenge gets the credentials directly; a registry without
// auth is used anonymously.
//
// Only 200 responses whose body hashes to the requested digest count. Any
// other status (redirects included), a digest mismatch or a transport error
// stops the run and exits 1: a benchmark must not count failures as speed.
//
// Output, one line: requests=… duration=10.00s rps=… p50_ms=… p99_ms=… max_ms=… c=16
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"atcr.io/pkg/oci"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("manifestload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	registry := fs.String("registry", "", "registry base URL, e.g. http://127.0.0.1:5000")
	repo := fs.String("repo", "", "repository name, e.g. alice.test/bench-50m-1")
	dgst := fs.String("digest", "", "manifest digest to GET")
	c := fs.Int("c", 16, "concurrent workers (one keep-alive connection each)")
	d := fs.Duration("d", 10*time.Second, "measured duration")
	warmup := fs.Duration("warmup", time.Second, "unmeasured warm-up before the measured duration")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := Config{
		Registry:    strings.TrimSuffix(*registry, "/"),
		Repo:        *repo,
		Concurrency: *c,
		Duration:    *d,
		Warmup:      *warmup,
		Username:    getenv("MANIFESTLOAD_USERNAME"),
		Password:    getenv("MANIFESTLOAD_PASSWORD"),
	}
	var err error
	if cfg.Digest, err = oci.ParseDigest(*dgst); err != nil {
		fmt.Fprintf(stderr, "manifestload: -digest: %v\n", err)
		return 2
	}
	if err := cfg.validate(); err != nil || fs.NArg() != 0 {
		if err != nil {
			fmt.Fprintf(stderr, "manifestload: %v\n", err)
		}
		fs.Usage()
		return 2
	}
	res, err := Run(ctx, NewClient(cfg.Concurrency), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "manifestload: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, res)
	return 0
}
