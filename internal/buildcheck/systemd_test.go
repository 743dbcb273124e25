package buildcheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The native units in deploy/systemd (atcr-*.service) pass `systemd-analyze
// verify`. It insists that ExecStart's binary exists, so the checked copy
// points at /bin/true; the rest of the unit is verified as written. The
// compose unit atcr.service is checked with the init script in test/deploy.
func TestSystemdUnitsVerify(t *testing.T) {
	units, err := filepath.Glob("../../deploy/systemd/atcr-*.service")
	if err != nil || len(units) == 0 {
		t.Fatalf("no units in deploy/systemd (%v)", err)
	}
	dir := t.TempDir()
	for _, unit := range units {
		b, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "ExecStart=/usr/local/bin/", "ExecStart=/bin/true # ")
		if strings.Contains(text, "ExecStart=/usr/local") || !strings.Contains(text, "ExecStart=/bin/true") {
			t.Fatalf("%s: ExecStart is not /usr/local/bin/<binary>", unit)
		}
		text = strings.ReplaceAll(text, "ExecStart=/bin/true # ", "ExecStart=/bin/true ")
		if out, err := verifyUnit(t, dir, filepath.Base(unit), text); err != nil {
			t.Errorf("%s: systemd-analyze verify: %v\n%s", unit, err, out)
		}
		for _, want := range []string{"User=atcr", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=atcr/"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: missing %s", unit, want)
			}
		}
	}
	// The check can fail: a unit with a bad Restart= value is refused.
	if _, err := verifyUnit(t, dir, "broken.service", "[Service]\nExecStart=/bin/true\nRestart=sometimes\n"); err == nil {
		t.Error("systemd-analyze verify accepted Restart=sometimes")
	}
}

func verifyUnit(t *testing.T, dir, name, text string) (string, error) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err == nil && len(strings.TrimSpace(string(out))) > 0 {
		// systemd reports bad values as warnings and still exits 0.
		err = fmt.Errorf("warnings")
	}
	return string(out), err
}
