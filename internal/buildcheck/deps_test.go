package buildcheck

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type goPackage struct {
	ImportPath string
	Dir        string
	Name       string
	Doc        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list -json` on the module's packages.
func listPackages(t *testing.T, patterns ...string) []goPackage {
	t.Helper()
	args := append([]string{"list", "-json"}, patterns...)
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
}

var rules = []rule{
	{"atcr.io/pkg/oci", []string{"atcr.io/", "github.com/bluesky-social/", "github.com/aws/"}, "pkg/oci is the leaf vocabulary"},
	{"atcr.io/pkg/s3", []string{"github.com/bluesky-social/", "atcr.io/pkg/atproto", "atcr.io/pkg/appview", "atcr.io/pkg/hold"}, "pkg/s3 knows only S3 and digests"},
	{"atcr.io/pkg/atproto", []string{"atcr.io/pkg/oci", "atcr.io/pkg/s3", "atcr.io/pkg/appview", "atcr.io/pkg/hold"}, "pkg/atproto is protocol plumbing"},
	{"atcr.io/pkg/config", []string{"atcr.io/"}, "config is a leaf"},
	{"atcr.io/pkg/logging", []string{"atcr.io/"}, "logging is a leaf"},
	{"atcr.io/pkg/appview", []string{"atcr.io/pkg/hold", "atcr.io/pkg/s3", "atcr.io/cmd"}, "the AppView never reaches into the hold or S3"},
	{"atcr.io/pkg/hold", []string{"atcr.io/pkg/appview", "atcr.io/cmd"}, "the hold never imports the AppView"},
	{"atcr.io/cmd/credential-helper", []string{"atcr.io/pkg/appview", "atcr.io/pkg/hold"}, "the credential helper speaks HTTP only"},
	{"atcr.io/cmd/s3-test", []string{"atcr.io/pkg/appview", "atcr.io/pkg/hold"}, "s3-test diagnoses S3 only"},
	{"atcr.io/pkg/appview/access", []string{"atcr.io/pkg/appview/"}, "access is shared by registry and auth, so it imports neither"},
	{"atcr.io/pkg/appview/auth", []string{"atcr.io/pkg/appview/registry", "atcr.io/pkg/appview/storage"}, "auth must not depend on the registry"},
	{"atcr.io/pkg/hold/server", []string{"atcr.io/pkg/s3"}, "the hold's router only routes"},
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
// rule's own subtree are always allowed.
func violations(p goPackage) []string {
	var out []string
	if isTestSupport(p.ImportPath) {
		// Fakes for tests (storagetest, pdstest, ...) may stand in for
		// anything; the rule below keeps them out of production code.
		return nil
	}
	for _, imp := range p.Imports {
		if strings.HasPrefix(imp, "atcr.io/") && isTestSupport(imp) {
			out = append(out, p.ImportPath+" imports "+imp+": test-support packages are for _test.go files only")
		}
	}
	for _, r := range rules {
		if !under(p.ImportPath, r.from) {
			continue
		}
		for _, imp := range p.Imports {
			if under(imp, r.from) {
				continue
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

// isTestSupport reports whether path is a package of test fakes and suites,
// named like net/http/httptest.
func isTestSupport(path string) bool {
	return strings.HasSuffix(path[strings.LastIndex(path, "/")+1:], "test")
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
		{ImportPath: "atcr.io/pkg/appview/registry", Imports: []string{"atcr.io/pkg/appview/storage/storagetest"}},
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
