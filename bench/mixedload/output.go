package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// totalOps is every operation of the load (not the verification) that
// completed or failed: the denominator of the CPU cost per operation.
func totalOps(out Outcome) int {
	n := 0
	for _, r := range out.Ops {
		if r.Op != opVerify {
			n += r.Total + r.Errors
		}
	}
	return n
}

func writeText(w io.Writer, cfg Config, out Outcome) {
	fmt.Fprintf(w, "mixed load on %s: %d clients, %s measured after %s warm-up\n", cfg.Registry, cfg.Workers, cfg.Duration, cfg.Warmup)
	fmt.Fprintf(w, "%-20s %8s %9s %9s %9s %9s %7s %8s\n", "operation", "count", "per_s", "p50_ms", "p99_ms", "max_ms", "errors", "retried")
	for _, r := range out.Ops {
		fmt.Fprintf(w, "%-20s %8d %9.1f %9s %9s %9s %7d %8d\n", r.Op, r.Count, r.PerSecond, ms(r.P50), ms(r.P99), ms(r.Max), r.Errors, r.Retried)
	}
	for _, r := range out.Ops {
		for _, t := range r.ErrorTexts {
			fmt.Fprintf(w, "error: %s\n", t)
		}
		for _, t := range r.RetryTexts {
			fmt.Fprintf(w, "retried: %s\n", t)
		}
		if r.Errors > 0 {
			fmt.Fprintf(w, "%s: %d errors, the last at +%.1fs\n", r.Op, r.Errors, r.LastError.Seconds())
		}
		if r.Retried > 0 {
			fmt.Fprintf(w, "%s retried %d attempts between +%.1fs and +%.1fs\n", r.Op, r.Retried, r.FirstRetry.Seconds(), r.LastRetry.Seconds())
		}
	}
	n := totalOps(out)
	fmt.Fprintf(w, "operations in all (warm-up and tail included): %d; pushed images: %d; token renewals: %d\n", n, out.Pushed, out.Renewed)
	fmt.Fprintf(w, "%-12s %-14s %10s %10s %10s %9s %12s\n", "process", "pids", "rss_max_MiB", "rss_mean", "hwm_MiB", "cpu_s", "cpu_ms_per_op")
	for _, p := range out.Procs {
		fmt.Fprintf(w, "%-12s %-14s %10.1f %10.1f %10.1f %9.2f %12.3f\n", p.Name, pidList(p.Pids),
			kib(p.RSSMaxKB), kib(p.RSSMeanKB), kib(p.HWMKB), p.CPUSeconds, perOp(p.CPUSeconds, n))
	}
	for _, p := range out.Procs {
		if p.WithChildren {
			fmt.Fprintf(w, "%s: with its children (CPU added; VmRSS summed, shared pages counted in each; peak = largest sampled sum)\n", p.Name)
		}
	}
	if len(out.NoReset) > 0 {
		fmt.Fprintf(w, "VmHWM not reset (lifetime peak shown) for: %s\n", strings.Join(out.NoReset, ", "))
	}
	if len(out.Curve) > 2 {
		fmt.Fprintln(w, "memory curve (VmRSS MiB):")
		fmt.Fprintln(w, curveHeader(out))
		for _, pt := range out.Curve {
			fmt.Fprintln(w, curveRow(out, pt))
		}
	}
}

func procNames(out Outcome) []string {
	names := make([]string, 0, len(out.Procs))
	for _, p := range out.Procs {
		names = append(names, p.Name)
	}
	return names
}

func curveHeader(out Outcome) string {
	return fmt.Sprintf("%8s %s", "t_s", strings.Join(padAll(procNames(out)), " "))
}

func curveRow(out Outcome, pt CurvePoint) string {
	var cells []string
	for _, name := range procNames(out) {
		cells = append(cells, fmt.Sprintf("%.1f", kib(pt.RSS[name])))
	}
	return fmt.Sprintf("%8.0f %s", pt.At.Seconds(), strings.Join(padAll(cells), " "))
}

func padAll(s []string) []string {
	out := slices.Clone(s)
	for i := range out {
		out[i] = fmt.Sprintf("%10s", out[i])
	}
	return out
}

func kib(kb int64) float64 { return float64(kb) / 1024 }

func perOp(cpu float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return cpu * 1000 / float64(n)
}

func pidList(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ",")
}

// writeTSVFile writes the records bench/run.sh reads:
//
//	op     LABEL OP count total per_s p50_ms p99_ms max_ms errors retried first_retry_s last_retry_s
//	error  LABEL OP text          (the first few per operation)
//	retry  LABEL OP text
//	proc   LABEL NAME rss_max_kb rss_mean_kb hwm_kb cpu_s cpu_ms_per_op
//	curve  LABEL t_s NAME=kB …
//	total  LABEL ops pushed
func writeTSVFile(path, label string, out Outcome) error {
	var b strings.Builder
	clean := func(s string) string { return strings.NewReplacer("\t", " ", "\n", " ").Replace(s) }
	for _, r := range out.Ops {
		fmt.Fprintf(&b, "op\t%s\t%s\t%d\t%d\t%.2f\t%s\t%s\t%s\t%d\t%d\t%.1f\t%.1f\n", label, r.Op, r.Count, r.Total, r.PerSecond,
			ms(r.P50), ms(r.P99), ms(r.Max), r.Errors, r.Retried, r.FirstRetry.Seconds(), r.LastRetry.Seconds())
		for _, t := range r.ErrorTexts {
			fmt.Fprintf(&b, "error\t%s\t%s\t%s\n", label, r.Op, clean(t))
		}
		for _, t := range r.RetryTexts {
			fmt.Fprintf(&b, "retry\t%s\t%s\t%s\n", label, r.Op, clean(t))
		}
	}
	n := totalOps(out)
	for _, p := range out.Procs {
		fmt.Fprintf(&b, "proc\t%s\t%s\t%d\t%d\t%d\t%.2f\t%.3f\n", label, p.Name, p.RSSMaxKB, p.RSSMeanKB, p.HWMKB, p.CPUSeconds, perOp(p.CPUSeconds, n))
	}
	for _, pt := range out.Curve {
		var cells []string
		for _, name := range procNames(out) {
			cells = append(cells, fmt.Sprintf("%s=%d", name, pt.RSS[name]))
		}
		fmt.Fprintf(&b, "curve\t%s\t%.0f\t%s\n", label, pt.At.Seconds(), strings.Join(cells, " "))
	}
	fmt.Fprintf(&b, "total\t%s\t%d\t%d\n", label, n, out.Pushed)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
