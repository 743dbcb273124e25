//go:build e2e

// Command testvulndb writes a TEST vulnerability database archive for the
// end-to-end stack: Grype schema 6, built offline from the vunnel-format
// fixtures of pkg/hold/scan/scantest (one Alpine advisory: CVE-2022-38178 in
// bind 9.18.0-r0). It knows nothing about real vulnerabilities; a hold that
// imports it finds only the fixtures' planted packages. test/stack/e2e.sh
// imports it into the stack's hold with `atcr-hold scanner db import`
// before the hold starts.
//
//	go run -tags e2e ./test/stack/testvulndb -o FILE.tar.gz
//
// It is built with the e2e tag only: it links scantest, a test-support
// package, which no shipped binary may link (internal/buildcheck).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"atcr.io/pkg/hold/scan/scantest"
)

func main() {
	out := flag.String("o", "", "where to write the archive (.tar.gz)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: testvulndb -o FILE.tar.gz")
		os.Exit(2)
	}
	if err := write(*out); err != nil {
		fmt.Fprintf(os.Stderr, "testvulndb: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "testvulndb: wrote %s: a TEST vulnerability database of fixtures (%s in %s %s only), not real vulnerability data\n",
		*out, scantest.VulnID, scantest.VulnPackage, scantest.VulnInstalled)
}

// write builds the fixture database in a temporary directory and packs it
// as the archive at out.
func write(out string) error {
	work, err := os.MkdirTemp("", "testvulndb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dir := filepath.Join(work, "db")
	if err := scantest.BuildDB(dir, scantest.Built()); err != nil {
		return fmt.Errorf("build the fixture database: %w", err)
	}
	if err := scantest.WriteArchive(dir, out); err != nil {
		return fmt.Errorf("archive the fixture database: %w", err)
	}
	return nil
}
