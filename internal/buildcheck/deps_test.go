package buildcheck

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

type goPackage struct {
	ImportPath string
	Dir        string
	Name       string
	Doc        string
	GoFiles    []string
	Imports    []string // of the package's non-test files
	Deps       []string // everything it links, transitively
	// TestImports and XTestImports are the imports of its _test.go files
	// (in the package and in package x_test).
	TestImports  []string
	XTestImports []string
}

// listPackages runs `go list -json` with args (flags, then patterns) in the
// module's root.
func listPackages(t *testing.T, args ...string) []goPackage {
	t.Helper()
	args = append([]string{"list", "-json"}, args...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rule forbids packages under `from` to import (directly) any package under a
// prefix in `not`.
type rule struct {
	from string
	not  []string
	why  string
	// only, when set, is the complete list of non-standard-library import
	// prefixes allowed.
	only []string
}

var rules = []rule{
	{from: "atcr.io/pkg/oci", why: "pkg/oci is the leaf vocabulary: the standard library and the OCI spec modules only", only: []string{"github.com/opencontainers/"}},
	{from: "atcr.io/pkg/s3", not: []string{"github.com/bluesky-social/", "atcr.io/pkg/atproto", "atcr.io/pkg/appview", "atcr.io/pkg/hold"}, why: "pkg/s3 knows only S3 and digests"},
	{from: "atcr.io/pkg/atproto", not: []string{"atcr.io/pkg/oci", "atcr.io/pkg/s3", "atcr.io/pkg/appview", "atcr.io/pkg/hold"}, why: "pkg/atproto is protocol plumbing"},
	{from: "atcr.io/pkg/config", not: []string{"atcr.io/"}, why: "config is a leaf"},
	{from: "atcr.io/pkg/logging", not: []string{"atcr.io/"}, why: "logging is a leaf"},
	{from: "atcr.io/pkg/appview", not: []string{"atcr.io/pkg/hold", "atcr.io/pkg/s3", "atcr.io/cmd"}, why: "the AppView never reaches into the hold or S3"},
	{from: "atcr.io/pkg/hold", not: []string{"atcr.io/pkg/appview", "atcr.io/cmd"}, why: "the hold never imports the AppView"},
	{from: "atcr.io/cmd/docker-credential-atcr", not: []string{"atcr.io/pkg/appview", "atcr.io/pkg/hold"}, why: "the credential helper speaks HTTP only"},
	{from: "atcr.io/cmd/s3-test", not: []string{"atcr.io/pkg/appview", "atcr.io/pkg/hold"}, why: "s3-test diagnoses S3 only"},
	{from: "atcr.io/internal/holdcontract", not: []string{"atcr.io/pkg/appview", "atcr.io/pkg/hold"}, why: "the hold's XRPC contract suite is run by both sides, so it imports neither"},
	{from: "atcr.io/pkg/appview/access", not: []string{"atcr.io/pkg/appview/"}, why: "access is shared by registry and auth, so it imports neither"},
	{from: "atcr.io/pkg/appview/auth", not: []string{"atcr.io/pkg/appview/registry", "atcr.io/pkg/appview/storage"}, why: "auth must not depend on the registry"},
	{from: "atcr.io/pkg/hold/server", not: []string{"atcr.io/pkg/s3"}, why: "the hold's router only routes"},
	{from: "atcr.io/pkg/appview/ui", not: []string{"atcr.io/pkg/appview/registry", "atcr.io/pkg/appview/storage"}, why: "the UI reads through its own interfaces"},
	{from: "atcr.io/pkg/appview/browse", not: []string{"atcr.io/pkg/appview/registry", "atcr.io/pkg/appview/storage", "atcr.io/pkg/appview/ui"}, why: "browse is a read-only view under the UI"},
	{from: "atcr.io/pkg/appview/db", not: []string{"net/http", "atcr.io/pkg/appview/"}, why: "the database layer knows no HTTP and no other AppView package"},
	{from: "atcr.io/internal/deploy", not: []string{"atcr.io/pkg/appview", "atcr.io/pkg/hold", "atcr.io/pkg/s3"}, why: "the deploy tool knows config templates and SSH, not the servers' code"},
	{from: "atcr.io/internal/gobuildcache", not: []string{"atcr.io/"}, why: "the Go build cache format is a leaf (the compose test's image builds use it)"},
	{from: "atcr.io/pkg/appview/markdown", not: []string{"net/http", "atcr.io/"}, why: "README rendering is a pure function of text: it fetches nothing and knows no other package"},
}

// under reports whether path is prefix itself or below it; a prefix ending in
// "/" matches only below it.
func under(path, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// violations lists the imports of p that break the rules. Imports inside the
// rule's own subtree are always allowed, and so is the one exception a
// test-support package may carry (testSupport).
func violations(p goPackage) []string {
	return checkImports(p, exceptionOf(p.ImportPath))
}

// checkImports is violations with the exception given: imports under the
// prefix exempt ("" for none) break no rule.
func checkImports(p goPackage, exempt string) []string {
	var out []string
	if !isTestSupport(p.ImportPath) {
		for _, imp := range p.Imports {
			if isTestSupport(imp) {
				out = append(out, p.ImportPath+" imports "+imp+": test-support packages (the list in "+testSupportFile+") are for _test.go files only")
			}
		}
	}
	for _, r := range rules {
		if !under(p.ImportPath, r.from) {
			continue
		}
		for _, imp := range p.Imports {
			if under(imp, r.from) || (exempt != "" && under(imp, exempt)) {
				continue
			}
			if r.only != nil && !isStdlib(imp) && !slices.ContainsFunc(r.only, func(ok string) bool { return under(imp, ok) }) {
				out = append(out, p.ImportPath+" imports "+imp+": "+r.why)
			}
			for _, bad := range r.not {
				if under(imp, bad) {
					out = append(out, p.ImportPath+" imports "+imp+": "+r.why)
				}
			}
		}
	}
	for _, imp := range p.Imports {
		if under(imp, "atcr.io/test") || (under(imp, "atcr.io/cmd") && !under(p.ImportPath, "atcr.io/cmd")) {
			out = append(out, p.ImportPath+" imports "+imp+": nothing imports cmd/ or test/")
		}
	}
	return out
}

// isStdlib reports whether an import path belongs to the standard library
// (its first element has no dot).
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func TestPackageDependencies(t *testing.T) {
	for _, p := range listPackages(t, "./...") {
		for _, v := range violations(p) {
			t.Error(v)
		}
	}
}

// The rules must be able to fail.
func TestDependencyRulesCatchViolations(t *testing.T) {
	bad := []goPackage{
		{ImportPath: "atcr.io/pkg/oci", Imports: []string{"atcr.io/pkg/s3"}},
		{ImportPath: "atcr.io/pkg/appview/registry", Imports: []string{"atcr.io/pkg/hold/pds"}},
		{ImportPath: "atcr.io/pkg/hold/gc", Imports: []string{"atcr.io/pkg/appview/db"}},
		{ImportPath: "atcr.io/pkg/s3", Imports: []string{"github.com/bluesky-social/indigo/atproto/syntax"}},
		{ImportPath: "atcr.io/pkg/atproto/directory", Imports: []string{"atcr.io/cmd/hold"}},
		{ImportPath: "atcr.io/pkg/oci", Imports: []string{"golang.org/x/sync/errgroup"}},
		{ImportPath: "atcr.io/pkg/appview/ui", Imports: []string{"atcr.io/pkg/appview/storage"}},
		{ImportPath: "atcr.io/pkg/appview/db", Imports: []string{"net/http"}},
		// Production code whose name merely ends in "test" gets no pass.
		{ImportPath: "atcr.io/cmd/s3-test", Imports: []string{"atcr.io/pkg/hold/holdoci"}},
		// Test-support packages obey the rules of where they sit.
		{ImportPath: "atcr.io/pkg/appview/pdssession/pdstest", Imports: []string{"atcr.io/pkg/s3"}},
		{ImportPath: "atcr.io/pkg/s3/s3test", Imports: []string{"atcr.io/pkg/appview/db"}},
		{ImportPath: "atcr.io/internal/holdcontract", Imports: []string{"atcr.io/pkg/hold/holdoci"}},
		{ImportPath: "atcr.io/internal/holdcontract", Imports: []string{"atcr.io/pkg/appview/storage"}},
	}
	// No production package imports a listed test-support package.
	for _, s := range testSupport {
		for _, importer := range []string{"atcr.io/pkg/appview/registry", "atcr.io/pkg/hold/holdoci", "atcr.io/cmd/s3-test", "atcr.io/internal/startup"} {
			bad = append(bad, goPackage{ImportPath: importer, Imports: []string{s.path}})
		}
	}
	for _, p := range bad {
		if len(violations(p)) == 0 {
			t.Errorf("%s importing %v passed the rules", p.ImportPath, p.Imports)
		}
	}
	ok := goPackage{ImportPath: "atcr.io/pkg/hold/gc", Imports: []string{"atcr.io/pkg/hold/pds", "atcr.io/pkg/s3", "atcr.io/pkg/oci"}}
	if v := violations(ok); len(v) != 0 {
		t.Errorf("allowed imports refused: %v", v)
	}
	// Test-support packages may import each other (where they sit still counts).
	for _, s := range testSupport {
		for _, other := range testSupport {
			for _, v := range violations(goPackage{ImportPath: s.path, Imports: []string{other.path}}) {
				if strings.Contains(v, "test-support") {
					t.Errorf("one test-support package importing another refused: %s", v)
				}
			}
		}
	}
	// An exception excuses what it names and nothing else.
	p := goPackage{ImportPath: "atcr.io/pkg/appview/somethingtest", Imports: []string{"atcr.io/pkg/s3/embedded", "atcr.io/pkg/hold/pds"}}
	if v := checkImports(p, "atcr.io/pkg/s3"); len(v) != 1 || !strings.Contains(v[0], "atcr.io/pkg/hold/pds") {
		t.Errorf("with the exception atcr.io/pkg/s3: %q, want only the pkg/hold/pds import refused", v)
	}
	if v := checkImports(p, ""); len(v) != 2 {
		t.Errorf("without an exception: %q, want both imports refused", v)
	}
}
