package stack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A fresh clone has no bin/tools, and a half-finished install can leave a
// file there that is not the tool. Every installer must get from either state
// to its install step and, when that step fails, say what failed. Under
// set -euo pipefail a version probe like have=$(go version -m BIN | awk …)
// fails when BIN is missing and ends the script on the spot, without a word:
// that is how `make bench` once died with a bare "Error 1" before installing
// the reference registry.
//
// The scripts run from a copy of the repository's scripts in a temporary
// directory (their ROOT, so bin/tools is theirs alone), with a Go toolchain
// that cannot download anything (GOPROXY=off, an empty module cache): every
// install step fails at once, and the test checks it was reached and
// reported.
func TestInstallersFromAFreshToolsDir(t *testing.T) {
	installers := []struct {
		name   string
		script string // bash, run in the copy's root
		tool   string // the file under bin/tools the installer checks
		want   []string
	}{
		{
			name:   "reference registry (make bench, run.sh --reference)",
			script: `. test/stack/lib.sh; . test/conformance/reference.sh; install_reference_registry`,
			tool:   "registry",
			want:   []string{"reference registry: go install github.com/distribution/distribution/v3/cmd/registry@", "ERROR: go install of the reference registry failed"},
		},
		{
			name:   "conformance suite (make conformance)",
			script: `test/conformance/run.sh --build`,
			tool:   "oci-conformance",
			want:   []string{"suite: go mod download github.com/opencontainers/distribution-spec/conformance@", "ERROR: go mod download of github.com/opencontainers/distribution-spec/conformance@", "GOPROXY=off"},
		},
		{
			name:   "crane, oras, regctl (make stack-deps)",
			script: `. test/stack/install.sh; install_go_tools`,
			tool:   "crane",
			want:   []string{"crane: go install github.com/google/go-containerregistry/cmd/crane@", "ERROR: go install of github.com/google/go-containerregistry/cmd/crane@"},
		},
		{
			name:   "jetstream (make stack-deps)",
			script: `. test/stack/install.sh; install_jetstream`,
			tool:   "jetstream",
			want:   []string{"jetstream: go mod download github.com/bluesky-social/jetstream@", "ERROR: go mod download of github.com/bluesky-social/jetstream@", "GOPROXY=off"},
		},
	}
	for _, in := range installers {
		for _, state := range []string{"no bin/tools", "a file in bin/tools that is not the tool"} {
			t.Run(in.name+"/"+state, func(t *testing.T) {
				root := copyScripts(t)
				if state != "no bin/tools" {
					stale := filepath.Join(root, "bin", "tools", in.tool)
					if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(stale, []byte("#!/bin/sh\necho 'a truncated download'\n"), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				cmd := exec.Command("bash", "-c", "set -euo pipefail; "+in.script)
				cmd.Dir = root
				cmd.Env = append(os.Environ(),
					"GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOSUMDB=off",
					"GOMODCACHE="+filepath.Join(t.TempDir(), "mod"))
				out, err := cmd.CombinedOutput()
				if err == nil {
					t.Fatalf("installed with downloads switched off?\n%s", out)
				}
				if len(strings.TrimSpace(string(out))) == 0 {
					t.Fatalf("exited (%v) without a word: a step before the install failed under set -e", err)
				}
				for _, w := range in.want {
					if !strings.Contains(string(out), w) {
						t.Errorf("output lacks %q (%v):\n%s", w, err, out)
					}
				}
			})
		}
	}
}

// copyScripts copies the stack and conformance scripts into a temporary
// directory laid out like the repository, which becomes their ROOT.
func copyScripts(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"test/stack/lib.sh", "test/stack/install.sh", "test/conformance/reference.sh", "test/conformance/run.sh"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
