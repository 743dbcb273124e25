package main

import (
	"strings"
	"testing"
)

func TestMixedFigures(t *testing.T) {
	raw, err := ParseRaw(strings.NewReader(strings.Join([]string{
		"run\tmixed_pull_rps\tatcr\t90",
		"run\tmixed_pull_rps\treference\t100",
		"run\tmixed_manifest_get_digest_rps\tatcr\t300",
		"run\tmixed_manifest_get_digest_rps\treference\t200",
		"run\tmixed_push_rps\tatcr\t1",
		"run\tmixed_push_rps\treference\t5",
		"run\tmixed_pull_p99_ms\tatcr\t50",
		"run\tmixed_errors\tatcr\t0",
		"run\tmixed_errors\treference\t0",
		"run\tmixed_peak_rss_appview\tatcr\t52428800",
		"run\tmixed_cost_pull_cpu_ms\tatcr\t3.5",
		"run\tmixed_cluster_pull_rps\tatcr\t72",
		"run\tmixed_cluster_pull_rps\treference\t90",
		"run\tmixed_cluster_manifest_get_tag_rps\tatcr\t70",
		"run\tmixed_cluster_errors\tatcr\t2",
		"run\tmixed_clusterlb_pull_rps\tatcr\t72",
		"run\tmixed_clusterlb_pull_rps\treference\t80",
		"run\tmixed_clusterlb_manifest_get_digest_rps\tatcr\t50",
		"run\tmixed_clusterlb_manifest_get_digest_rps\treference\t100",
		"run\tmixed_clusterrr_pull_rps\tatcr\t85",
		"run\tmixed_clusterrr_pull_rps\treference\t90",
		"run\tmixed_clusterrr_tag_list_rps\tatcr\t60",
		"run\tmixed_clusterrr_tag_list_rps\treference\t100",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	rows := Rows(raw)
	for id, want := range map[string]struct{ atcr, target, verdict string }{
		"mixed_pull_rps":                          {"90.0", "≥ 1× reference", Miss},
		"mixed_manifest_get_digest_rps":           {"300.0", "≥ 1× reference", Pass},
		"mixed_push_rps":                          {"1.0", "–", Info},
		"mixed_pull_p99_ms":                       {"50.0", "–", Info},
		"mixed_errors":                            {"0", "= 0", Pass},
		"mixed_peak_rss_appview":                  {"50.0", "–", Info},
		"mixed_cost_pull_cpu_ms":                  {"3.50", "–", Info},
		"mixed_cluster_pull_rps":                  {"72.0", "≥ 0.8× single-node (reference column)", Pass},
		"mixed_cluster_manifest_get_tag_rps":      {"70.0", "≥ 0.8× single-node (reference column)", NotMeasured},
		"mixed_cluster_errors":                    {"2", "= 0", Miss},
		"mixed_clusterlb_pull_rps":                {"72.0", "≥ 0.8× single-node behind Caddy (reference column)", Pass},
		"mixed_clusterlb_manifest_get_digest_rps": {"50.0", "≥ 0.8× single-node behind Caddy (reference column)", Miss},
		"mixed_clusterrr_pull_rps":                {"85.0", "≥ 0.8× single-node without a proxy (reference column)", Pass},
		"mixed_clusterrr_tag_list_rps":            {"60.0", "≥ 0.8× single-node without a proxy (reference column)", Miss},
	} {
		r := rowByID(t, rows, id)
		if r.ATCR != want.atcr || r.Target != want.target || r.Verdict != want.verdict {
			t.Errorf("%s: ATCR %q target %q verdict %q, want %+v", id, r.ATCR, r.Target, r.Verdict, want)
		}
	}
	for _, bad := range []string{"mixed_nope_rps", "mixed_pull_p75_ms", "mixed_cost_pull", "mixed_cluster_cost_pull_cpu_ms", "mixed_clusterlb_cost_pull_cpu_ms", "mixed_clusterrr_cost_pull_cpu_ms", "mixed_peak_rss_Bad Name"} {
		if _, ok := lookupMixedFigure(bad); ok {
			t.Errorf("lookupMixedFigure(%q) accepted it", bad)
		}
	}
}

func TestStressCPUFigures(t *testing.T) {
	raw, err := ParseRaw(strings.NewReader("run\tstress_cpu_ms_pds\tatcr\t61.25\nrun\tstress_cpu_ms_registry\treference\t9.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	rows := Rows(raw)
	if r := rowByID(t, rows, "stress_cpu_ms_pds"); r.ATCR != "61.2" || r.Verdict != Info {
		t.Errorf("stress_cpu_ms_pds: ATCR %q verdict %q, want 61.2 and no target", r.ATCR, r.Verdict)
	}
	if _, err := lookupFigure("stress_cpu_ms_Bad Name"); err == nil {
		t.Error("a process name with a space and capitals was accepted")
	}
}
