package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The mixed load's figures (bench/mixedload, issue 15), written by run.sh's
// mixed_load, mixed_costs and mixed_cluster:
//
//	mixed_<op>_rps, mixed_<op>_p50_ms, mixed_<op>_p99_ms   per operation
//	mixed_errors                                             failed operations
//	mixed_peak_rss_<process>, mixed_cpu_ms_<process>         per process (the reference column: the registry)
//	mixed_cost_<op>_cpu_ms                                   CPU ms per operation, all processes, one operation alone
//	mixed_cluster_<…>                                        the same on the two-AppView cluster: its ATCR column is
//	                                                         the cluster, its reference column ATCR single-node
//	mixed_clusterlb_<op>_rps/_p50_ms/_p99_ms                 the cluster again, against one AppView without shared
//	                                                         state behind the same Caddy (the shared state's cost)
//	mixed_clusterrr_<op>_rps/_p50_ms/_p99_ms                 the cluster without a proxy (clients take the AppViews in
//	                                                         turn), against that one AppView without a proxy either
var mixedOps = []string{"pull", "push", "manifest_head_tag", "manifest_get_tag", "manifest_get_digest", "tag_list"}

// mixedJudgedOps must reach the reference's rate (issue 15: pulls and
// manifest GETs).
var mixedJudgedOps = []string{"pull", "manifest_get_tag", "manifest_get_digest"}

// clusterRatio is the cluster's least share of single-node throughput.
const clusterRatio = 0.8

var processName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// lookupMixedFigure knows the mixed_ figure ids; ok is false for others.
func lookupMixedFigure(id string) (Figure, bool) {
	rest, ok := strings.CutPrefix(id, "mixed_")
	if !ok {
		return Figure{}, false
	}
	where, vs := "mixed load", "reference"
	cluster := false
	if r, ok := strings.CutPrefix(rest, "clusterrr_"); ok {
		rest, cluster = r, true
		where, vs = "mixed load, two-AppView cluster without a proxy, clients taking the AppViews in turn (reference column: one AppView without shared state, clients straight to it)", "single-node without a proxy"
	} else if r, ok := strings.CutPrefix(rest, "clusterlb_"); ok {
		rest, cluster = r, true
		where, vs = "mixed load, two-AppView cluster (reference column: ATCR single-node behind the same Caddy)", "single-node behind Caddy"
	} else if r, ok := strings.CutPrefix(rest, "cluster_"); ok {
		rest, cluster = r, true
		where, vs = "mixed load, two-AppView cluster (reference column: ATCR single-node)", "single-node"
	}
	num := func(format string) func(float64) string {
		return func(v float64) string { return fmt.Sprintf(format, v) }
	}
	fig := Figure{ID: id, Aggregate: median, Judge: noTarget}
	switch {
	case rest == "errors":
		fig.Label, fig.Format, fig.Aggregate = where+": failed operations", num("%.0f"), maximum
		fig.Judge = func(atcr, _ float64) (string, bool) { return "= 0", atcr == 0 }
		return fig, true
	case strings.HasPrefix(rest, "peak_rss_") && processName.MatchString(strings.TrimPrefix(rest, "peak_rss_")):
		fig.Label = fmt.Sprintf("%s: %s peak RSS (MiB; VmHWM)", where, strings.TrimPrefix(rest, "peak_rss_"))
		fig.Format, fig.Aggregate = formatMiB, maximum
		return fig, true
	case strings.HasPrefix(rest, "cpu_ms_") && processName.MatchString(strings.TrimPrefix(rest, "cpu_ms_")):
		fig.Label = fmt.Sprintf("%s: %s CPU ms per operation (all operations)", where, strings.TrimPrefix(rest, "cpu_ms_"))
		fig.Format = num("%.3f")
		return fig, true
	}
	if op, ok := strings.CutPrefix(rest, "cost_"); ok && !cluster {
		op, ok = strings.CutSuffix(op, "_cpu_ms")
		if ok && slices.Contains(mixedOps, op) {
			fig.Label = fmt.Sprintf("CPU ms per %s, that operation alone, all of the registry's processes", op)
			fig.Format = num("%.2f")
			return fig, true
		}
		return Figure{}, false
	}
	for _, unit := range []string{"_rps", "_p50_ms", "_p99_ms"} {
		op, ok := strings.CutSuffix(rest, unit)
		if !ok || !slices.Contains(mixedOps, op) {
			continue
		}
		if unit != "_rps" {
			fig.Label = fmt.Sprintf("%s: %s %s latency (ms)", where, op, strings.Trim(unit[:4], "_"))
			fig.Format = num("%.1f")
			return fig, true
		}
		fig.Label, fig.Format = fmt.Sprintf("%s: %s per second", where, op), num("%.1f")
		switch {
		case cluster:
			fig.Judge = func(atcr, ref float64) (string, bool) {
				return fmt.Sprintf("≥ %.1f× %s (reference column)", clusterRatio, vs), ref > 0 && atcr/ref >= clusterRatio
			}
		case slices.Contains(mixedJudgedOps, op):
			fig.Judge = func(atcr, ref float64) (string, bool) { return "≥ 1× reference", ref > 0 && atcr/ref >= 1 }
		}
		return fig, true
	}
	return Figure{}, false
}
