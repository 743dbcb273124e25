package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestGetReadsRealParentCommandLine runs the binary under a shell whose own
// command line carries an image reference, the way `docker push <ref>` is
// the helper's parent: /proc/<ppid>/cmdline must pick the account.
func TestGetReadsRealParentCommandLine(t *testing.T) {
	s := newSandbox(t)
	s.mustRun(0, `{"ServerURL":"atcr.io","Username":"alice.test","Secret":"secret-alice"}`, "store")
	s.mustRun(0, `{"ServerURL":"atcr.io","Username":"bob.test","Secret":"secret-bob"}`, "store") // active

	for ref, want := range map[string]string{
		"atcr.io/alice.test/app:1": "alice.test",
		"atcr.io/bob.test/app:1":   "bob.test",
		"ghcr.io/alice.test/app":   "bob.test",
	} {
		// sh -c SCRIPT $0 $1: sh's argv holds the reference; the pipeline
		// makes sh fork the helper instead of exec'ing into it.
		cmd := exec.CommandContext(t.Context(), "sh", "-c", `printf atcr.io | "$0" get | cat`, binary, ref)
		cmd.Env = s.env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		var c creds
		if err := json.Unmarshal(out, &c); err != nil {
			t.Fatalf("%s: stdout %q: %v", ref, out, err)
		}
		if c.Username != want || !strings.HasSuffix(c.Secret, strings.TrimSuffix(want, ".test")) {
			t.Errorf("parent argv with %s: got %+v, want %s", ref, c, want)
		}
	}
}
