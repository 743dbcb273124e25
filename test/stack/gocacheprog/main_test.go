package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"atcr.io/internal/gobuildcache"
)

// A build with an empty GOCACHE and gocacheprog pointed at a served cache
// that already holds the packages runs no compiler at all, and a second
// build finds everything in gocacheprog's own directory. The "host" cache is
// this machine's GOCACHE (a fresh one would make the test compile the runtime
// first: minutes), filled by a first, ordinary build with the images' flags.
func TestBuildTakesCompiledPackagesFromServedCache(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	tmp := t.TempDir()
	prog := filepath.Join(tmp, "gocacheprog")
	run(t, "", nil, "go", "build", "-o", prog, ".")

	mod := filepath.Join(tmp, "mod")
	for name, text := range map[string]string{
		"go.mod":       "module example.test/hello\n\ngo 1.22\n",
		"main.go":      "package main\n\nimport \"example.test/hello/greet\"\n\nfunc main() { println(greet.Hello()) }\n",
		"greet/lib.go": "package greet\n\nfunc Hello() string { return \"hello\" }\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(mod, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"CGO_ENABLED=0", "GOFLAGS=-trimpath", "GOPROXY=off", "GOWORK=off"}
	hostCache := strings.TrimSpace(run(t, "", nil, "go", "env", "GOCACHE"))
	run(t, mod, env, "go", "build", "-o", filepath.Join(tmp, "hello1"), ".")

	srv := httptest.NewServer(http.StripPrefix("/_gocache", gobuildcache.Handler(gobuildcache.Dir(hostCache))))
	defer srv.Close()
	imageEnv := append(env, "GOCACHE="+filepath.Join(tmp, "image-cache"), "GOCACHEPROG="+prog+" -url "+srv.URL+"/_gocache/")
	out := run(t, mod, imageEnv, "go", "build", "-x", "-o", filepath.Join(tmp, "hello2"), ".")
	if compiles := compilerRuns(out); len(compiles) > 0 {
		t.Fatalf("the build with the served cache compiled %d packages, e.g. %s\n%s", len(compiles), compiles[0], tail(out))
	}
	if !regexp.MustCompile(`gocacheprog: \d+ gets: 0 local, [1-9]\d* from `).MatchString(out) {
		t.Fatalf("no entries came from the served cache:\n%s", tail(out))
	}

	srv.Close() // the second build must not need it
	out = run(t, mod, imageEnv, "go", "build", "-x", "-o", filepath.Join(tmp, "hello3"), ".")
	if compiles := compilerRuns(out); len(compiles) > 0 {
		t.Fatalf("the second build compiled %d packages:\n%s", len(compiles), tail(out))
	}
	if !regexp.MustCompile(`gocacheprog: \d+ gets: [1-9]\d* local, 0 from `).MatchString(out) {
		t.Fatalf("the second build did not find its entries locally:\n%s", tail(out))
	}
	if got := run(t, "", nil, filepath.Join(tmp, "hello3")); !strings.Contains(got, "hello") {
		t.Fatalf("the built program says %q", got)
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// compilerRuns are the lines of `go build -x` output that run the compiler.
func compilerRuns(out string) []string {
	var runs []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "/compile ") && strings.Contains(line, " -o ") {
			runs = append(runs, line)
		}
	}
	return runs
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
