package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// maxReportBytes bounds what Parse reads. The suite's junit.xml embeds every
// request and response it made (a few MiB for a full run); anything far
// larger is not a conformance report.
const maxReportBytes = 256 << 20

// Outcome is what happened to one test case.
type Outcome string

// The outcomes a test case can have. The conformance suite writes them in the
// testcase's status attribute ("failure", "error", "skipped", "passed");
// generic junit writers use child elements instead, which Parse also reads.
const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Skipped Outcome = "skipped"
)

// Case is one <testcase>.
type Case struct {
	Name    string
	Outcome Outcome
	Message string // why it failed or was skipped; empty for a pass
}

// Tallies are the counts a <testsuites> or <testsuite> element claims for
// itself. The conformance suite counts checks here, not test cases.
type Tallies struct {
	Tests, Failures, Errors, Skipped, Disabled int
}

// Report is a parsed junit.xml.
type Report struct {
	Cases   []Case
	Tallies Tallies
}

type xmlResult struct {
	Message string `xml:"message,attr"`
	Data    string `xml:",chardata"`
}

type xmlCase struct {
	Name      string     `xml:"name,attr"`
	Classname string     `xml:"classname,attr"`
	Status    string     `xml:"status,attr"`
	Skipped   *xmlResult `xml:"skipped"`
	Failure   *xmlResult `xml:"failure"`
	Error     *xmlResult `xml:"error"`
	SystemOut string     `xml:"system-out"`
}

type xmlSuite struct {
	Tests    int       `xml:"tests,attr"`
	Failures int       `xml:"failures,attr"`
	Errors   int       `xml:"errors,attr"`
	Skipped  int       `xml:"skipped,attr"`
	Disabled int       `xml:"disabled,attr"`
	Cases    []xmlCase `xml:"testcase"`
}

// xmlRoot accepts both a <testsuites> wrapper and a bare <testsuite>.
type xmlRoot struct {
	XMLName xml.Name
	xmlSuite
	Suites []xmlSuite `xml:"testsuite"`
}

// Parse reads a junit.xml document. It fails on malformed XML, an unknown
// root element, and a document without any test case.
func Parse(r io.Reader) (*Report, error) {
	var root xmlRoot
	dec := xml.NewDecoder(io.LimitReader(r, maxReportBytes))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("decode junit xml: %w", err)
	}
	suites := root.Suites
	switch root.XMLName.Local {
	case "testsuites":
	case "testsuite":
		suites = []xmlSuite{root.xmlSuite}
	default:
		return nil, fmt.Errorf("root element <%s> is neither <testsuites> nor <testsuite>", root.XMLName.Local)
	}
	rep := &Report{}
	for _, s := range suites {
		rep.Tallies.Tests += s.Tests
		rep.Tallies.Failures += s.Failures
		rep.Tallies.Errors += s.Errors
		rep.Tallies.Skipped += s.Skipped
		rep.Tallies.Disabled += s.Disabled
		for _, c := range s.Cases {
			rep.Cases = append(rep.Cases, toCase(c))
		}
	}
	if len(rep.Cases) == 0 {
		return nil, errNoTests
	}
	return rep, nil
}

// toCase decides the outcome: the status attribute when present, otherwise
// the child elements (a case with none of them passed).
func toCase(c xmlCase) Case {
	name := c.Name
	if c.Classname != "" {
		name = c.Classname + "/" + c.Name
	}
	out := Case{Name: name, Outcome: Passed}
	switch strings.ToLower(c.Status) {
	case "failure", "failed", "error":
		out.Outcome = Failed
	case "skipped", "disabled":
		out.Outcome = Skipped
	case "passed", "pass", "success":
	default:
		switch {
		case c.Failure != nil || c.Error != nil:
			out.Outcome = Failed
		case c.Skipped != nil:
			out.Outcome = Skipped
		}
	}
	if out.Outcome != Passed {
		out.Message = firstMessage(c)
	}
	return out
}

// firstMessage picks the most specific explanation the case carries.
func firstMessage(c xmlCase) string {
	for _, r := range []*xmlResult{c.Failure, c.Error, c.Skipped} {
		if r == nil {
			continue
		}
		if m := strings.TrimSpace(r.Message); m != "" {
			return m
		}
		if d := strings.TrimSpace(r.Data); d != "" {
			return d
		}
	}
	return strings.TrimSpace(c.SystemOut)
}
