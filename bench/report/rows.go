package main

import (
	"fmt"
	"math"
	"strings"
)

// Verdicts of a row.
const (
	Pass        = "PASS"
	Miss        = "MISS"
	NotMeasured = "n/a"
	Info        = "info"
)

// Row is one line of the results table.
type Row struct {
	Figure    Figure
	ATCR, Ref string // formatted aggregates, or why there is none
	Runs      map[string]string
	Ratio     string
	Target    string
	Verdict   string
	atcr, ref float64 // NaN when missing
}

// Rows aggregates every figure in first-seen order.
func Rows(raw *Raw) []Row {
	rows := make([]Row, 0, len(raw.Order))
	for _, id := range raw.Order {
		fig, err := lookupFigure(id)
		if err != nil {
			continue // ParseRaw admits only known figures; error records may name others
		}
		r := Row{Figure: fig, Runs: map[string]string{}, atcr: math.NaN(), ref: math.NaN()}
		r.ATCR, r.atcr = aggregate(raw, fig, ATCR, r.Runs)
		r.Ref, r.ref = aggregate(raw, fig, Reference, r.Runs)
		r.judge()
		rows = append(rows, r)
	}
	return rows
}

// aggregate formats one registry's aggregate and records its runs.
func aggregate(raw *Raw, fig Figure, registry string, runs map[string]string) (string, float64) {
	if raw.hasError(fig.ID, registry) {
		return "error (below)", math.NaN() // the message is listed under the table
	}
	vals := raw.Runs[fig.ID][registry]
	if len(vals) == 0 {
		return "–", math.NaN()
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fig.Format(v)
	}
	runs[registry] = strings.Join(parts, " / ")
	v := fig.Aggregate(vals)
	s := fig.Format(v)
	if fig.SizeMiB > 0 && v > 0 {
		s += fmt.Sprintf(" (%.0f MiB/s)", fig.SizeMiB/v)
	}
	return s, v
}

func (r *Row) judge() {
	r.Ratio = "–"
	if !math.IsNaN(r.atcr) && !math.IsNaN(r.ref) && r.ref > 0 {
		r.Ratio = fmt.Sprintf("%.2f×", r.atcr/r.ref)
	}
	target, ok := r.Figure.Judge(r.atcr, r.ref)
	r.Target = target
	switch {
	case target == "":
		r.Target, r.Verdict = "–", Info
	case math.IsNaN(r.atcr) || (strings.Contains(target, "reference") && math.IsNaN(r.ref)):
		r.Verdict = NotMeasured
	case ok:
		r.Verdict = Pass
	default:
		r.Verdict = Miss
	}
}
