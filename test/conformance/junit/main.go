// Command junit summarises the junit.xml written by the OCI
// distribution-spec conformance suite (test/conformance/run.sh runs it on
// var/conformance/…/results/junit.xml):
//
//	conformance: 665 passed, 155 failed, 25 skipped of 845
//	  suite tallies: 1036 checks, 156 failed, 0 errors, 25 skipped, 0 disabled
//	  category             passed  failed  skipped
//	  pull                    298      24        4
//	  …
//	failing tests by category:
//	  pull (24)
//	    sha512/pull/blob-get (×4): Docker-Content-Digest header value …
//
// A test case counts once per junit <testcase>, whatever number of checks
// the suite ran inside it; the suite's own tallies (which count checks) are
// printed beside them. "error" test cases count as failed. The category of a
// test (pull, push, content discovery, content management) is derived from
// its name, as the suite no longer groups tests that way itself.
//
// Exit status: 0 when nothing failed, 1 when any test failed or errored, 2
// when the file is missing, unreadable or holds no test case.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("junit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: junit [-messages=false] [-max N] results/junit.xml")
		fs.PrintDefaults()
	}
	messages := fs.Bool("messages", true, "print the first line of each failing test's message")
	maxNames := fs.Int("max", 40, "failing test names listed per category (0: all)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "junit: %v\n", err)
		return 2
	}
	defer f.Close()
	rep, err := Parse(f)
	if err != nil {
		fmt.Fprintf(stderr, "junit: %s: %v\n", fs.Arg(0), err)
		return 2
	}
	if err := rep.Summary().Write(stdout, *messages, *maxNames); err != nil {
		fmt.Fprintf(stderr, "junit: write summary: %v\n", err)
		return 2
	}
	if rep.Summary().Failed > 0 {
		return 1
	}
	return 0
}

// errNoTests is returned by Parse for a well-formed file without test cases:
// a run that tested nothing must not look like a clean pass.
var errNoTests = errors.New("no test cases")
