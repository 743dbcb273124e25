package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints the table for a terminal.
func WriteText(w io.Writer, raw *Raw, rows []Row) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tATCR\treference\tATCR/ref\ttarget\tresult")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Figure.Label, r.ATCR, r.Ref, r.Ratio, r.Target, r.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for _, e := range raw.Errors {
		if _, err := fmt.Fprintf(w, "not measured: %s on %s: %s\n", e.Figure, e.Registry, e.Message); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	return nil
}

// WriteMarkdown writes the conditions (meta records), the table, and every
// run's value, for docs/benchmarks.md.
func WriteMarkdown(w io.Writer, raw *Raw, rows []Row) error {
	var b strings.Builder
	b.WriteString("# Benchmark results\n\n")
	for _, m := range raw.Meta {
		fmt.Fprintf(&b, "- **%s**: %s\n", m.Key, mdCell(m.Value))
	}
	b.WriteString("\n| figure | ATCR | reference | ATCR/ref | target | result |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n",
			mdCell(r.Figure.Label), mdCell(r.ATCR), mdCell(r.Ref), r.Ratio, r.Target, r.Verdict)
	}
	b.WriteString("\nEvery run, in order:\n\n| figure | ATCR | reference |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.Figure.ID, orDash(r.Runs[ATCR]), orDash(r.Runs[Reference]))
	}
	if len(raw.Errors) > 0 {
		b.WriteString("\nNot measured:\n\n")
		for _, e := range raw.Errors {
			fmt.Fprintf(&b, "- %s on %s: %s\n", e.Figure, e.Registry, mdCell(e.Message))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCell keeps a value inside one table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
