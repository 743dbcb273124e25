package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// mib is one MiB in bytes.
const mib = 1 << 20

// Targets of issue 15: the AppView's peak RSS at most rssRatio × the
// reference registry's VmHWM; a push of an image of at most smallPushMiB at
// most smallPushRatio × the reference's time (larger ones pushRatio×);
// manifest GETs at least manifestRatio × the reference's rate, with a p99
// no worse than the reference's; the stress run at most stressRatio × the
// reference's wall time.
const (
	rssRatio       = 1.5
	smallPushMiB   = 100
	smallPushRatio = 1.2
	pushRatio      = 1.5
	pullRatio      = 1.2
	manifestRatio  = 2
	stressRatio    = 1.5
)

// scanRSSLimit is the hold's peak RSS target while it scans the largest
// (500 MiB) image.
const scanRSSLimit = 400 * mib

// Figure says how one measured quantity is labelled, aggregated and judged.
type Figure struct {
	ID    string
	Label string
	// SizeMiB is the image size for push/pull figures (for the MiB/s column).
	SizeMiB float64
	// Aggregate reduces the runs of one registry to one value.
	Aggregate func([]float64) float64
	// Format renders an aggregated value.
	Format func(float64) string
	// Judge returns the target text and whether ATCR meets it, given both
	// aggregated values (ref is NaN when the reference has none). ok is
	// meaningless when target is "".
	Judge func(atcr, ref float64) (target string, ok bool)
}

// lookupFigure knows every figure id run.sh writes.
func lookupFigure(id string) (Figure, error) {
	if fig, ok := lookupMixedFigure(id); ok {
		return fig, nil
	}
	if name, ok := strings.CutPrefix(id, "stress_cpu_ms_"); ok && processName.MatchString(name) {
		return Figure{ID: id, Label: fmt.Sprintf("concurrent push/pull stress: %s CPU ms per cycle", name),
			Aggregate: median, Format: func(v float64) string { return fmt.Sprintf("%.1f", v) }, Judge: noTarget}, nil
	}
	if op, size, ok := strings.Cut(id, "_"); ok && (op == "push" || op == "pull") {
		n, err := strconv.Atoi(size)
		if err != nil || n <= 0 {
			return Figure{}, fmt.Errorf("figure %q: size must be a positive number of MiB", id)
		}
		limit := pullRatio
		switch {
		case op == "push" && n <= smallPushMiB:
			limit = smallPushRatio
		case op == "push":
			limit = pushRatio
		}
		return Figure{
			ID:        id,
			Label:     fmt.Sprintf("crane %s %d MiB image (s, median)", op, n),
			SizeMiB:   float64(n),
			Aggregate: median,
			Format:    func(v float64) string { return fmt.Sprintf("%.3f", v) },
			Judge:     ratioAtMost(limit),
		}, nil
	}
	if size, ok := strings.CutPrefix(id, "scan_"); ok && size != "hold_rss" {
		n, err := strconv.Atoi(size)
		if err != nil || n <= 0 {
			return Figure{}, fmt.Errorf("figure %q: size must be a positive number of MiB", id)
		}
		return Figure{
			ID:        id,
			Label:     fmt.Sprintf("scan %d MiB image: push end to scan record (s, median; reference: grype CLI on the OCI layout)", n),
			Aggregate: median,
			Format:    func(v float64) string { return fmt.Sprintf("%.2f", v) },
			Judge:     ratioAtMost(1.3),
		}, nil
	}
	switch id {
	case "scan_hold_rss":
		return Figure{
			ID:        id,
			Label:     "hold peak RSS while scanning the largest image (MiB; reference: grype CLI max RSS)",
			Aggregate: maximum,
			Format:    formatMiB,
			Judge: func(atcr, _ float64) (string, bool) {
				return "< 400 MiB", atcr < scanRSSLimit
			},
		}, nil
	case "manifest_rps":
		return Figure{
			ID:        id,
			Label:     "manifest GET by digest (req/s)",
			Aggregate: median,
			Format:    func(v float64) string { return fmt.Sprintf("%.0f", v) },
			Judge: func(atcr, ref float64) (string, bool) {
				return fmt.Sprintf("≥ %.0f× reference", float64(manifestRatio)), ref > 0 && atcr/ref >= manifestRatio
			},
		}, nil
	case "manifest_p99_ms":
		return Figure{
			ID:        id,
			Label:     "manifest GET by digest, p99 latency (ms)",
			Aggregate: median,
			Format:    func(v float64) string { return fmt.Sprintf("%.1f", v) },
			Judge:     ratioAtMost(1),
		}, nil
	case "manifest_p50_ms":
		return Figure{ID: id, Label: "manifest GET by digest, p50 latency (ms)",
			Aggregate: median, Format: func(v float64) string { return fmt.Sprintf("%.2f", v) }, Judge: noTarget}, nil
	case "appview_peak_rss":
		return Figure{
			ID:        id,
			Label:     "AppView peak RSS over the largest image's runs (MiB; reference: registry VmHWM)",
			Aggregate: maximum,
			Format:    formatMiB,
			Judge:     ratioAtMost(rssRatio),
		}, nil
	case "appview_rss_sampled":
		return Figure{ID: id, Label: "AppView max VmRSS sampled every 100 ms during the largest pushes (MiB)",
			Aggregate: maximum, Format: formatMiB, Judge: noTarget}, nil
	case "stress_failures":
		return Figure{
			ID:        id,
			Label:     "concurrent push/pull stress: failed cycles (test/e2e TestStressConcurrentPushPull; N, M below)",
			Aggregate: maximum,
			Format:    func(v float64) string { return fmt.Sprintf("%.0f", v) },
			Judge: func(atcr, _ float64) (string, bool) {
				return "= 0", atcr == 0
			},
		}, nil
	case "stress_seconds":
		return Figure{
			ID:        id,
			Label:     "concurrent push/pull stress: wall time (s; both registries, same N × M)",
			Aggregate: median,
			Format:    func(v float64) string { return fmt.Sprintf("%.1f", v) },
			Judge:     ratioAtMost(stressRatio),
		}, nil
	case "stress_cycles_per_s":
		return Figure{ID: id, Label: "concurrent push/pull stress: cycles per second (all clients)",
			Aggregate: median, Format: func(v float64) string { return fmt.Sprintf("%.2f", v) }, Judge: noTarget}, nil
	case "hold_hwm":
		return Figure{ID: id, Label: "hold VmHWM over the largest image's runs (MiB)",
			Aggregate: maximum, Format: formatMiB, Judge: noTarget}, nil
	}
	return Figure{}, fmt.Errorf("unknown figure %q", id)
}

// ratioAtMost judges a time: ATCR's must be at most limit × the reference's.
func ratioAtMost(limit float64) func(atcr, ref float64) (string, bool) {
	return func(atcr, ref float64) (string, bool) {
		return fmt.Sprintf("≤ %.1f× reference", limit), ref > 0 && atcr/ref <= limit
	}
}

func noTarget(float64, float64) (string, bool) { return "", false }

func formatMiB(v float64) string { return fmt.Sprintf("%.1f", v/mib) }

// median of the values; the mean of the middle two for an even count.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maximum(v []float64) float64 { return slices.Max(v) }
