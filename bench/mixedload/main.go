// Command mixedload puts a sustained mixed load on a registry (issue 15):
// N clients for a fixed time: -pushers of them push fresh small images
// back to back, the others pick read operations at random by weight —
// pulls of existing images (manifest GET by tag, then the config and layer
// blobs, following the redirects to a hold's presigned URLs, every digest
// checked), manifest HEADs and GETs by tag and by digest, tag lists. A push
// is HEAD, POST, PATCH, PUT ?digest= per blob as crane does (every other push
// in two Content-Range chunks), then the manifest PUT. Pushers have their own
// clients so that a registry's slow pushes do not starve its reads.
//
//	MIXEDLOAD_USERNAME=alice.test MIXEDLOAD_PASSWORD=… mixedload \
//	  -registry http://127.0.0.1:5000 -prefix alice.test -c 32 -d 60s \
//	  -pids-file var/dev.pids -proc reference=1234 -tsv out.tsv
//
// -registry may name several base URLs, comma-separated (the AppViews of
// one cluster): every request then goes to the next of them, round robin,
// as DNS round robin or a load balancer on another machine would spread
// it, with no proxy's CPU on the machine under test.
//
// Before the load it pushes -seeds images (untimed) for the read operations.
// Credentials come from the environment; on a Bearer challenge one token for
// every repository the run uses is fetched once (renewed at 70% of its
// lifetime for long runs); an open registry is used anonymously.
//
// Per operation it reports the count and rate of operations that started
// after the warm-up and ended inside the measured window, p50/p99/max
// latency, and errors (with the first texts). A failed operation is counted
// and the worker goes on. With -retry (the soak), an attempt that failed like
// a restarting AppView makes it fail — no response, 502/503/504, or an
// upload session the registry lost — is counted as retried and run again.
//
// Processes (-proc name=pid, and -pids-file lines "PID NAME …", reread at
// every sample so a restarted process is followed) are sampled every
// -sample: VmRSS, and utime+stime for CPU seconds; VmHWM is reset before the
// run (clear_refs) and read at the end. A memory curve point is kept every
// -curve. With -verify every pushed image is pulled back after the run.
//
// Exit status: 0 when the run completed (errors are results, in the report),
// 1 when it could not run, 2 for bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const defaultMix = "pull=3,manifest_head_tag=2,manifest_get_tag=2,manifest_get_digest=3,tag_list=1"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// procFlags collects repeated -proc name=pid.
type procFlags map[string]int

func (p procFlags) String() string { return fmt.Sprint(map[string]int(p)) }
func (p procFlags) Set(v string) error {
	name, pid, ok := strings.Cut(v, "=")
	n, err := strconv.Atoi(pid)
	if !ok || name == "" || err != nil || n <= 0 {
		return fmt.Errorf("want name=pid, got %q", v)
	}
	p[name] = n
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mixedload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	registry := fs.String("registry", "", "registry base URL, e.g. http://127.0.0.1:5000; several, comma-separated (the AppViews of one cluster), take the requests in turn")
	prefix := fs.String("prefix", "", "repository namespace, e.g. alice.test")
	c := fs.Int("c", 32, "concurrent clients")
	pushers := fs.Int("pushers", 4, "of the -c clients, how many only push (the others read by -mix)")
	d := fs.Duration("d", 60*time.Second, "measured duration")
	warmup := fs.Duration("warmup", 3*time.Second, "load before the measured window, not counted")
	mix := fs.String("mix", defaultMix, "read operation weights")
	seeds := fs.Int("seeds", 8, "images pushed before the run for the read operations")
	seedLayers := fs.Int("seed-layers", 2, "layers per seed image")
	seedSize := fs.Int("seed-layer-kib", 256, "KiB of random content per seed layer")
	pushSize := fs.Int("push-layer-kib", 64, "KiB of random content in each pushed image's one layer")
	retry := fs.Bool("retry", false, "retry restart-like failures (the soak), counted separately")
	retryFor := fs.Duration("retry-for", 60*time.Second, "with -retry, give up on an operation after this long")
	verify := fs.Bool("verify", false, "pull back every pushed image after the run")
	orphans := fs.Int("orphans", 0, "blobs to upload before the run without any manifest (for a GC sweep to collect)")
	procs := procFlags{}
	fs.Var(procs, "proc", "process to watch, name=pid (repeatable)")
	pidsFile := fs.String("pids-file", "", `file of "PID NAME …" lines naming processes to watch, reread at every sample`)
	sample := fs.Duration("sample", time.Second, "VmRSS and CPU sampling interval")
	curve := fs.Duration("curve", 10*time.Second, "memory curve interval (0: none)")
	tsv := fs.String("tsv", "", "also write the results as tab-separated records to this file")
	label := fs.String("label", "run", "label of this run in the TSV records")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	m, err := parseMix(*mix)
	if err != nil || *registry == "" || *prefix == "" || *c < 1 || *c > 1024 || *pushers < 0 || *pushers > *c || *d <= 0 || *warmup < 0 ||
		*seeds < 1 || *orphans < 0 || *seedLayers < 1 || *seedSize < 1 || *pushSize < 1 || *sample <= 0 || fs.NArg() != 0 {
		if err != nil {
			fmt.Fprintf(stderr, "mixedload: %v\n", err)
		}
		fmt.Fprintln(stderr, "mixedload: -registry and -prefix are required; counts and durations must be positive")
		fs.Usage()
		return 2
	}
	var spread []string
	for _, base := range strings.Split(*registry, ",") {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			fmt.Fprintf(stderr, "mixedload: -registry: %q is not a base URL like http://127.0.0.1:5000\n", base)
			return 2
		}
		spread = append(spread, u.Scheme+"://"+u.Host)
	}
	cfg := Config{
		Registry: spread[0], Spread: spread, Prefix: *prefix, Workers: *c, Pushers: *pushers, Duration: *d, Warmup: *warmup,
		Mix: m, Seeds: *seeds, SeedLayers: *seedLayers, SeedLayerSize: *seedSize << 10, PushLayerSize: *pushSize << 10,
		Retry: *retry, RetryFor: *retryFor, Verify: *verify, Orphans: *orphans,
		Started: func(t time.Time) {
			fmt.Fprintf(stderr, "mixedload: load started at %d (unix ms)\n", t.UnixMilli())
		},
		Username: getenv("MIXEDLOAD_USERNAME"), Password: getenv("MIXEDLOAD_PASSWORD"),
	}
	// The load generator itself, to show whether it was the bottleneck.
	procs["mixedload"] = os.Getpid()
	s := &Sampler{fixed: procs, pidFile: *pidsFile, every: *sample, curve: *curve, procs: map[string]*watchedProc{}}
	out, err := Run(ctx, cfg, s)
	if err != nil {
		fmt.Fprintf(stderr, "mixedload: %v\n", err)
		return 1
	}
	writeText(stdout, cfg, out)
	if *tsv != "" {
		if err := writeTSVFile(*tsv, *label, out); err != nil {
			fmt.Fprintf(stderr, "mixedload: %v\n", err)
			return 1
		}
	}
	return 0
}
