package buildcheck

import (
	"slices"
	"strings"
	"testing"
)

// binaryRule forbids a binary to link (directly or through any dependency)
// a package under a prefix in not.
type binaryRule struct {
	binary string
	not    []string
	why    string
}

// binaryRules covers every binary under cmd/; TestBinaryDependencies fails
// for a cmd/ binary without a line here.
var binaryRules = []binaryRule{
	{binary: "atcr.io/cmd/appview", not: []string{"atcr.io/pkg/hold/", grypeAndSyft}, why: "the AppView links nothing of the hold (nor the hold's scanner, grype and syft)"},
	{binary: "atcr.io/cmd/hold", not: []string{"atcr.io/pkg/appview/"}, why: "the hold links nothing of the AppView"},
	{binary: "atcr.io/cmd/docker-credential-atcr", not: []string{"atcr.io/pkg/appview/", "atcr.io/pkg/hold/", grypeAndSyft}, why: "the credential helper speaks HTTP to the AppView only"},
	{binary: "atcr.io/cmd/deploy", not: []string{"atcr.io/pkg/appview/", "atcr.io/pkg/hold/", "atcr.io/pkg/s3", grypeAndSyft}, why: "the deploy tool speaks SSH and renders config templates; it links no server"},
	{binary: "atcr.io/cmd/s3-test", not: []string{"atcr.io/pkg/appview/", "atcr.io/pkg/hold/", grypeAndSyft}, why: "s3-test is S3 diagnostics over pkg/s3"},
}

// grypeAndSyft is the prefix of grype, syft and their own libraries
// (stereoscope, …): about 890 modules and 100 MB of binary that only the
// hold, which scans, may carry.
const grypeAndSyft = "github.com/anchore/"

// binaryViolations lists what the main package p links against the rules:
// the binaryRules for it, and for every binary no test-support package.
// imports (package → its imports, for the module's packages) lets a message
// show the chain of imports that links the package; it may be nil.
func binaryViolations(p goPackage, imports map[string][]string) []string {
	var out []string
	for _, dep := range p.Deps {
		if isTestSupport(dep) {
			out = append(out, p.ImportPath+" links "+dep+" ("+importChain(imports, p.ImportPath, dep)+
				"): a binary never links test-support packages (the list in "+testSupportFile+")")
		}
	}
	for _, r := range binaryRules {
		if r.binary != p.ImportPath {
			continue
		}
		for _, dep := range p.Deps {
			for _, bad := range r.not {
				if under(dep, bad) {
					out = append(out, p.ImportPath+" links "+dep+" ("+importChain(imports, p.ImportPath, dep)+"): "+r.why)
				}
			}
		}
	}
	return out
}

// importChain returns the shortest chain of imports from one package to
// another, "a → b → c", or "import chain unknown" when imports lacks it.
func importChain(imports map[string][]string, from, to string) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			chain := []string{to}
			for at := prev[to]; at != ""; at = prev[at] {
				chain = append(chain, at)
			}
			slices.Reverse(chain)
			return "via " + strings.Join(chain, " → ")
		}
		for _, next := range imports[cur] {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return "import chain unknown"
}

func TestBinaryDependencies(t *testing.T) {
	pkgs := listPackages(t, "./...")
	imports := map[string][]string{}
	for _, p := range pkgs {
		imports[p.ImportPath] = p.Imports
	}
	mains := map[string]bool{}
	for _, p := range pkgs {
		if p.Name != "main" {
			continue
		}
		mains[p.ImportPath] = true
		for _, v := range binaryViolations(p, imports) {
			t.Error(v)
		}
		if under(p.ImportPath, "atcr.io/cmd") && !slices.ContainsFunc(binaryRules, func(r binaryRule) bool { return r.binary == p.ImportPath }) {
			t.Errorf("%s has no line in binaryRules (internal/buildcheck/binaries_test.go): say which parts it must not link", p.ImportPath)
		}
	}
	for _, r := range binaryRules {
		if !mains[r.binary] {
			t.Errorf("binaryRules names %s, which is not a binary of the module: write its new path or delete the line", r.binary)
		}
	}
}

// The binary rules must be able to fail.
func TestBinaryRulesCatchViolations(t *testing.T) {
	bad := []goPackage{
		{ImportPath: "atcr.io/cmd/appview", Deps: []string{"atcr.io/pkg/appview/registry", "atcr.io/pkg/hold/pds"}},
		{ImportPath: "atcr.io/cmd/hold", Deps: []string{"atcr.io/pkg/hold/pds", "atcr.io/pkg/appview/db"}},
		{ImportPath: "atcr.io/cmd/docker-credential-atcr", Deps: []string{"atcr.io/pkg/appview/access"}},
		{ImportPath: "atcr.io/cmd/s3-test", Deps: []string{"atcr.io/pkg/s3", "atcr.io/pkg/hold/holdoci"}},
		{ImportPath: "atcr.io/cmd/appview", Deps: []string{"github.com/anchore/grype/grype"}},
		{ImportPath: "atcr.io/cmd/docker-credential-atcr", Deps: []string{"github.com/anchore/syft/syft"}},
		{ImportPath: "atcr.io/cmd/s3-test", Deps: []string{"github.com/anchore/stereoscope"}},
	}
	for _, s := range testSupport {
		bad = append(bad, goPackage{ImportPath: "atcr.io/bench/report", Deps: []string{s.path}})
	}
	for _, p := range bad {
		if len(binaryViolations(p, nil)) == 0 {
			t.Errorf("%s linking %v passed the rules", p.ImportPath, p.Deps)
		}
	}
	ok := goPackage{ImportPath: "atcr.io/cmd/hold", Deps: []string{"atcr.io/pkg/hold/pds", "atcr.io/pkg/s3", "atcr.io/pkg/appviewer", "github.com/anchore/grype/grype"}}
	if v := binaryViolations(ok, nil); len(v) != 0 {
		t.Errorf("allowed dependencies refused: %v", v)
	}
	imports := map[string][]string{
		"atcr.io/cmd/appview":         {"atcr.io/pkg/appview/storage", "fmt"},
		"atcr.io/pkg/appview/storage": {"atcr.io/pkg/oci", "atcr.io/internal/shared"},
		"atcr.io/internal/shared":     {"atcr.io/pkg/hold/pds"},
	}
	want := "via atcr.io/cmd/appview → atcr.io/pkg/appview/storage → atcr.io/internal/shared → atcr.io/pkg/hold/pds"
	if got := importChain(imports, "atcr.io/cmd/appview", "atcr.io/pkg/hold/pds"); got != want {
		t.Errorf("importChain = %q, want %q", got, want)
	}
}

// One SQLite driver registers the name "sqlite" per binary: glebarez/go-sqlite
// (pure Go, and the one grype links). Importing modernc.org/sqlite as well
// panics at start-up with "Register called twice".
func TestOneSQLiteDriver(t *testing.T) {
	for _, p := range listPackages(t, "./cmd/...") {
		for _, d := range p.Deps {
			if d == "modernc.org/sqlite" || d == "github.com/mattn/go-sqlite3" {
				t.Errorf("%s links %s; use github.com/glebarez/go-sqlite", p.ImportPath, d)
			}
		}
	}
}
