package main

import (
	"fmt"
	"io"
	"strings"
)

// maxMessage bounds the message printed beside a failing test.
const maxMessage = 120

// rootName is the name of the suite's root test, the first segment of every
// test name; the listing leaves it out.
const rootName = "OCI Conformance Test/"

// Counts are passed/failed/skipped test cases.
type Counts struct {
	Passed, Failed, Skipped int
}

// Total is every test case counted.
func (c Counts) Total() int { return c.Passed + c.Failed + c.Skipped }

func (c *Counts) add(o Outcome) {
	switch o {
	case Passed:
		c.Passed++
	case Failed:
		c.Failed++
	case Skipped:
		c.Skipped++
	}
}

// Failure is one failing test name, with how many test cases carried it (the
// suite repeats a name when it runs the same check on several blobs).
type Failure struct {
	Name    string
	Times   int
	Message string
}

// Summary is a Report reduced to what run.sh prints.
type Summary struct {
	Counts
	Tallies    Tallies
	ByCategory map[Category]Counts
	Failures   map[Category][]Failure // in first-seen order
}

// Summary counts the report's test cases overall and per category, and
// groups the failing names by category.
func (r *Report) Summary() Summary {
	s := Summary{
		Tallies:    r.Tallies,
		ByCategory: map[Category]Counts{},
		Failures:   map[Category][]Failure{},
	}
	seen := map[string]int{} // failing name → index in its category's list
	for _, c := range r.Cases {
		cat := CategoryOf(c.Name)
		s.add(c.Outcome)
		counts := s.ByCategory[cat]
		counts.add(c.Outcome)
		s.ByCategory[cat] = counts
		if c.Outcome != Failed {
			continue
		}
		if i, ok := seen[c.Name]; ok {
			s.Failures[cat][i].Times++
			continue
		}
		seen[c.Name] = len(s.Failures[cat])
		s.Failures[cat] = append(s.Failures[cat], Failure{Name: c.Name, Times: 1, Message: firstLine(c.Message)})
	}
	return s
}

// Write prints the summary line, the per-category table and the failing
// tests grouped by category, at most maxNames names per category (0: all);
// report.html and junit.xml always hold every one.
func (s Summary) Write(w io.Writer, messages bool, maxNames int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "conformance: %d passed, %d failed, %d skipped of %d\n", s.Passed, s.Failed, s.Skipped, s.Total())
	fmt.Fprintf(&b, "  suite tallies: %d checks, %d failed, %d errors, %d skipped, %d disabled\n",
		s.Tallies.Tests, s.Tallies.Failures, s.Tallies.Errors, s.Tallies.Skipped, s.Tallies.Disabled)
	fmt.Fprintf(&b, "  %-20s %7s %7s %8s\n", "category", "passed", "failed", "skipped")
	for _, cat := range Categories {
		c, ok := s.ByCategory[cat]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "  %-20s %7d %7d %8d\n", cat, c.Passed, c.Failed, c.Skipped)
	}
	if s.Failed > 0 {
		b.WriteString("failing tests by category:\n")
	}
	for _, cat := range Categories {
		fails := s.Failures[cat]
		if len(fails) == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %s (%d)\n", cat, s.ByCategory[cat].Failed)
		for i, f := range fails {
			if maxNames > 0 && i == maxNames {
				fmt.Fprintf(&b, "    … and %d more (-max=0 lists all)\n", len(fails)-maxNames)
				break
			}
			line := "    " + strings.TrimPrefix(f.Name, rootName)
			if f.Times > 1 {
				line += fmt.Sprintf(" (×%d)", f.Times)
			}
			if messages && f.Message != "" {
				line += ": " + f.Message
			}
			b.WriteString(line + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// firstLine keeps the first line of a message, cut to maxMessage bytes on a
// rune boundary.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
