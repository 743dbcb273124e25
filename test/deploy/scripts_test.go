package deploy

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// operatorScripts are the shell scripts an operator runs on the server.
func operatorScripts(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	helpers, err := filepath.Glob(filepath.Join(root, "deploy", "scripts", "*.sh"))
	if err != nil || len(helpers) != 3 {
		t.Fatalf("deploy/scripts: want get-hold-oauth.sh, logs.sh, rebuild.sh, got %v (%v)", helpers, err)
	}
	return append([]string{filepath.Join(root, "deploy", "init-upcloud.sh")}, helpers...)
}

func TestScriptsAreShellcheckClean(t *testing.T) {
	shellcheck := requireTool(t, "shellcheck", "shellcheck")
	for _, script := range operatorScripts(t) {
		out, err := exec.Command(shellcheck, "--shell=bash", "--severity=style", script).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck %s: %v\n%s", script, err, out)
		}
		info, err := os.Stat(script)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", script)
		}
	}
	// The check can fail: an unquoted expansion is reported.
	bad := filepath.Join(t.TempDir(), "bad.sh")
	writeFile(t, bad, "#!/usr/bin/env bash\nrm -rf $1/tmp\n", 0o755)
	if err := exec.Command(shellcheck, "--shell=bash", bad).Run(); err == nil {
		t.Error("shellcheck passed an unquoted $1")
	}
}

// The unit passes `systemd-analyze verify`. Verification loads the units it
// needs and checks that ExecStart's binary exists, so the checked copy runs
// /bin/true instead of /usr/bin/docker and a stand-in docker.service is on
// the unit path; the rest of the unit is verified as written.
func TestAtcrUnitVerifies(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "systemd")
	unit := readFile(t, filepath.Join(repoRoot(t), "deploy", "systemd", "atcr.service"))
	for _, want := range []string{
		"ExecStart=/usr/bin/docker compose -f /opt/atcr/deploy/docker-compose.prod.yml --env-file /opt/atcr/.env -p atcr up -d\n",
		"ExecStop=/usr/bin/docker compose -f /opt/atcr/deploy/docker-compose.prod.yml --env-file /opt/atcr/.env -p atcr down\n",
		"Restart=on-failure\n", "Requires=docker.service\n", "WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("atcr.service lacks %q", want)
		}
	}
	checked := strings.ReplaceAll(unit, "=/usr/bin/docker ", "=/bin/true ")
	if out, err := verifyUnit(t, analyze, "atcr.service", checked); err != nil {
		t.Errorf("systemd-analyze verify atcr.service: %v\n%s", err, out)
	}
	// The check can fail: Restart=always is refused for a oneshot unit.
	broken := strings.Replace(checked, "Restart=on-failure", "Restart=always", 1)
	if _, err := verifyUnit(t, analyze, "atcr.service", broken); err == nil {
		t.Error("systemd-analyze verify accepted Restart=always in a oneshot unit")
	}
}

// verifyUnit runs systemd-analyze verify on text saved as name, with a
// stand-in docker.service on the unit search path (the trailing colon keeps
// the default path).
func verifyUnit(t *testing.T, analyze, name, text string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "docker.service"), "[Service]\nExecStart=/bin/true\n", 0o644)
	path := filepath.Join(dir, name)
	writeFile(t, path, text, 0o644)
	cmd := exec.Command(analyze, "verify", path)
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":")
	out, err := cmd.CombinedOutput()
	if err == nil && strings.TrimSpace(string(out)) != "" {
		// systemd reports some bad values as warnings and still exits 0.
		err = errWarnings
	}
	return string(out), err
}

var errWarnings = errors.New("systemd-analyze printed warnings")

// The init script carries the unit as a heredoc (it is installed before the
// repository is cloned); it must be the file in deploy/systemd word for word.
func TestInitScriptUnitIsTheRepositorysUnit(t *testing.T) {
	root := repoRoot(t)
	script := readFile(t, filepath.Join(root, "deploy", "init-upcloud.sh"))
	m := regexp.MustCompile(`(?s)<<'UNIT'\n(.*?\n)UNIT\n`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("init-upcloud.sh has no <<'UNIT' heredoc")
	}
	if want := readFile(t, filepath.Join(root, "deploy", "systemd", "atcr.service")); m[1] != want {
		t.Errorf("the unit in init-upcloud.sh differs from deploy/systemd/atcr.service:\n%s", m[1])
	}
}
