// Command report turns the raw measurements of bench/run.sh into the results
// table: the median of each timed figure, the ratio ATCR/reference, and the
// target with PASS or MISS.
//
//	report -in var/bench/raw.tsv -md var/bench/results.md
//
// The raw file has one tab-separated record per line (# starts a comment):
//
//	meta    <key>     <value>                 date, machine, versions, …
//	run     <figure>  <registry>  <value>     one measurement
//	error   <figure>  <registry>  <message>   a figure that could not be measured
//
// Figures: push_<MiB> and pull_<MiB> (seconds per run, median taken),
// manifest_rps (requests/s), manifest_p50_ms and manifest_p99_ms (its
// latencies), appview_peak_rss (bytes: the AppView's VmHWM
// over the largest image's runs, or its largest VmRSS sample if that is
// larger; for the reference, the registry's VmHWM), appview_rss_sampled and
// hold_hwm (bytes, shown for information), stress_failures (failed cycles of
// the concurrent push/pull stress run), stress_seconds (its wall time, on
// both registries) and stress_cycles_per_s (its throughput, for
// information), scan_<MiB> (seconds from the end of a push
// to the hold's scan record; for the reference, the grype CLI scanning the
// same image) and scan_hold_rss (bytes: the hold's VmHWM while scanning the
// largest image; for the reference, the grype CLI's). Registries: "atcr"
// and "reference".
//
// Targets (figures.go): pull ≤ 1.2× the reference's time, push ≤ 1.2× for
// images up to 100 MiB and ≤ 1.5× above, manifest GET ≥ 2× its rate with a
// p99 ≤ the reference's, AppView peak RSS ≤ 1.5× the reference's VmHWM, no
// failed stress cycle and the stress run ≤ 1.5× the reference's wall time,
// push to scan record ≤ 1.3× the grype CLI's time, hold RSS while scanning
// < 400 MiB. A MISS is a result, not a failure:
// the exit status is 0 unless a figure could not be measured (an error
// record: 1) or the input is unusable (2).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "raw measurements written by bench/run.sh")
	md := fs.String("md", "", "write the results as markdown to this file as well")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: report -in raw.tsv [-md results.md]")
		return 2
	}
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 2
	}
	raw, err := ParseRaw(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "report: %s: %v\n", *in, err)
		return 2
	}
	rows := Rows(raw)
	if err := WriteText(stdout, raw, rows); err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 2
	}
	if *md != "" {
		if err := writeMarkdownFile(*md, raw, rows); err != nil {
			fmt.Fprintf(stderr, "report: %v\n", err)
			return 2
		}
	}
	if len(raw.Errors) > 0 {
		return 1
	}
	return 0
}

func writeMarkdownFile(path string, raw *Raw, rows []Row) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := WriteMarkdown(f, raw, rows); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
