package buildcheck

import (
	"slices"
	"strings"
	"testing"
)

// testSupportFile is where the list below lives, for the messages that ask
// for an edit of it.
const testSupportFile = "internal/buildcheck/testsupport_test.go"

// testSupportPackage is a package of fakes, fixtures or shared suites that
// exists for _test.go files only.
type testSupportPackage struct {
	path string
	// mayImport, when set, is the one prefix the package may import although
	// the rules of the directory it sits in forbid it.
	mayImport string
}

// testSupport is every test-support package of the module, one line each:
// moving or renaming one is an edit of its line. Production code never
// imports them and no binary links them. They obey the import rules of the
// directory they sit in, except for the one exception written on its line.
// TestTestSupportList fails for a package imported only by tests (or named
// like one, …test) that is not listed here, and for a line whose package is gone.
var testSupport = []testSupportPackage{
	{path: "atcr.io/cmd/docker-credential-atcr/internal/devicetest"},
	{path: "atcr.io/internal/holdcontract"},
	{path: "atcr.io/internal/pgtest"},
	{path: "atcr.io/internal/redistest"},
	{path: "atcr.io/internal/syncbuf"},
	{path: "atcr.io/internal/testclock"},
	{path: "atcr.io/pkg/appview/db/dbtest"},
	{path: "atcr.io/pkg/appview/pdstest"},
	{path: "atcr.io/pkg/appview/storage/storagetest", mayImport: "atcr.io/pkg/s3"}, // the one exception: its fake hold keeps blobs in a real S3Service
	{path: "atcr.io/pkg/hold/scan/scantest"},
	{path: "atcr.io/pkg/s3/embedded/embeddedtest"},
	{path: "atcr.io/pkg/s3/s3test"},
}

// isTestSupport reports whether path is on the testSupport list.
func isTestSupport(path string) bool {
	return slices.ContainsFunc(testSupport, func(s testSupportPackage) bool { return s.path == path })
}

// exceptionOf returns the prefix path may import despite the rules ("" for
// none).
func exceptionOf(path string) string {
	for _, s := range testSupport {
		if s.path == path {
			return s.mayImport
		}
	}
	return ""
}

// testSupportListProblems compares the testSupport list with the module's
// packages (pkgs, listed with their test imports): a listed package that
// does not exist, a test-only package that is not listed, and an exception
// that no longer excuses anything.
func testSupportListProblems(pkgs []goPackage) []string {
	var out []string
	byPath := map[string]goPackage{}
	prodImporters := map[string][]string{}
	testImporters := map[string][]string{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
		for _, imp := range p.Imports {
			prodImporters[imp] = append(prodImporters[imp], p.ImportPath)
		}
		for _, imp := range slices.Concat(p.TestImports, p.XTestImports) {
			if imp != p.ImportPath && !slices.Contains(testImporters[imp], p.ImportPath) {
				testImporters[imp] = append(testImporters[imp], p.ImportPath)
			}
		}
	}
	for _, s := range testSupport {
		p, ok := byPath[s.path]
		if !ok {
			out = append(out, s.path+" is on the testSupport list but no package has that path: "+
				"if it moved, write its new path on its line in "+testSupportFile+"; if it is gone, delete the line")
			continue
		}
		if s.mayImport != "" && len(checkImports(p, "")) == len(checkImports(p, s.mayImport)) {
			out = append(out, s.path+" no longer needs its exception (mayImport "+s.mayImport+"): delete it from its line in "+testSupportFile)
		}
	}
	for _, p := range pkgs {
		if p.Name == "main" || isTestSupport(p.ImportPath) || strings.HasPrefix(p.ImportPath, "atcr.io/test/") {
			continue
		}
		switch {
		case strings.HasSuffix(p.Name, "test"):
			out = append(out, p.ImportPath+" is named like a test-support package but is not on the testSupport list: "+
				"add a line for it in "+testSupportFile+" (production code then may not import it), or rename it")
		case len(prodImporters[p.ImportPath]) == 0 && len(testImporters[p.ImportPath]) > 0:
			out = append(out, p.ImportPath+" is imported only by _test.go files ("+strings.Join(testImporters[p.ImportPath], ", ")+
				") but is not on the testSupport list: add a line for it in "+testSupportFile+
				" (production code then may not import it), or use it from production code")
		}
	}
	return out
}

func TestTestSupportList(t *testing.T) {
	// With the e2e and stack tags, so imports from those tests count too.
	for _, problem := range testSupportListProblems(listPackages(t, "-tags=e2e,stack", "./...")) {
		t.Error(problem)
	}
}

// The list check must be able to fail.
func TestTestSupportListCatchesProblems(t *testing.T) {
	existing := func() []goPackage {
		var pkgs []goPackage
		for _, s := range testSupport {
			pkgs = append(pkgs, goPackage{ImportPath: s.path, Name: s.path[strings.LastIndex(s.path, "/")+1:]})
		}
		// storagetest's exception must still be needed.
		for i := range pkgs {
			if exceptionOf(pkgs[i].ImportPath) != "" {
				pkgs[i].Imports = []string{exceptionOf(pkgs[i].ImportPath)}
			}
		}
		return pkgs
	}
	if problems := testSupportListProblems(existing()); len(problems) != 0 {
		t.Fatalf("a module holding exactly the listed packages has problems: %v", problems)
	}
	cases := map[string]func([]goPackage) []goPackage{
		"a listed package is gone": func(p []goPackage) []goPackage { return p[1:] },
		"an unlisted package named …test": func(p []goPackage) []goPackage {
			return append(p, goPackage{ImportPath: "atcr.io/pkg/hold/pds/pdsfaketest", Name: "pdsfaketest"})
		},
		"an unlisted package imported only by tests": func(p []goPackage) []goPackage {
			return append(p,
				goPackage{ImportPath: "atcr.io/internal/fixtures", Name: "fixtures"},
				goPackage{ImportPath: "atcr.io/pkg/hold/gc", Name: "gc", TestImports: []string{"atcr.io/internal/fixtures"}})
		},
		"an exception that excuses nothing": func(p []goPackage) []goPackage {
			for i := range p {
				p[i].Imports = nil
			}
			return p
		},
	}
	for name, mutate := range cases {
		if problems := testSupportListProblems(mutate(existing())); len(problems) == 0 {
			t.Errorf("%s: no problem reported", name)
		}
	}
	// A package that production code imports is not test support, whoever
	// else imports it.
	shared := append(existing(),
		goPackage{ImportPath: "atcr.io/internal/sqlite", Name: "sqlite"},
		goPackage{ImportPath: "atcr.io/pkg/hold/pds", Name: "pds", Imports: []string{"atcr.io/internal/sqlite"}, TestImports: []string{"atcr.io/internal/sqlite"}})
	if problems := testSupportListProblems(shared); len(problems) != 0 {
		t.Errorf("a package production code imports was reported: %v", problems)
	}
}
