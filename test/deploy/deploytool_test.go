package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"atcr.io/pkg/config"
)

var (
	buildOnce sync.Once
	toolPath  string
	buildErr  error
)

// deployTool builds cmd/deploy once for the package's tests.
func deployTool(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "atcr-deploy-bin")
		if err != nil {
			buildErr = err
			return
		}
		toolPath = filepath.Join(dir, "atcr-deploy")
		out, err := exec.Command("go", "build", "-o", toolPath, "atcr.io/cmd/deploy").CombinedOutput()
		if err != nil {
			buildErr = err
			toolPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/deploy: %v\n%s", buildErr, toolPath)
	}
	return toolPath
}

// toolRun runs the deploy tool against s with args before the target, and
// returns its output, exit code and the systemctl calls it caused.
func (s *sshServer) toolRun(t *testing.T, repo string, args ...string) (string, int, []string) {
	t.Helper()
	argv := append([]string{"--repo", repo, "--identity", s.identity, "--known-hosts", s.knownHosts, "--remote-root", s.root}, args...)
	argv = append(argv, "root@"+s.addr)
	cmd := exec.Command(deployTool(t), argv...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	out, code := runCommand(t, cmd)
	return string(out), code, calls(t, s.state)
}

const toolEnvTemplate = `# ATCR compose deployment (test template).

# The AppView's host name.
APPVIEW_DOMAIN=registry.example.com
# The hold's host name.
HOLD_DOMAIN=hold.example.com
`

// deployRepo is a checkout's deploy/ directory with the real units and a
// small .env template; the test edits it as a new release would.
func deployRepo(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	for _, u := range []string{"atcr.service", "atcr-appview.service", "atcr-hold.service"} {
		writeFile(t, filepath.Join(repo, "deploy", "systemd", u), readFile(t, filepath.Join(repoRoot(t), "deploy", "systemd", u)), 0o644)
	}
	writeFile(t, filepath.Join(repo, "deploy", ".env.example"), toolEnvTemplate, 0o644)
	return repo
}

func wantCalls(t *testing.T, step string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: systemctl calls\n  %q\nwant\n  %q", step, got, want)
	}
}

func TestDeployToolOverSSH(t *testing.T) {
	s := startSSHD(t)
	repo := deployRepo(t)
	unitPath := filepath.Join(s.root, "etc", "systemd", "system", "atcr.service")
	envPath := filepath.Join(s.root, "opt", "atcr", ".env")
	templateUnit := filepath.Join(repo, "deploy", "systemd", "atcr.service")

	// 1. First deploy: unit and .env installed, systemd reloaded, the unit
	// enabled and restarted.
	out, code, got := s.toolRun(t, repo)
	if code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	wantCalls(t, "first deploy", got, "systemctl daemon-reload", "systemctl enable atcr.service", "systemctl restart atcr.service")
	if readFile(t, unitPath) != readFile(t, templateUnit) || readFile(t, envPath) != toolEnvTemplate {
		t.Errorf("first deploy did not install the unit and .env:\n%s", out)
	}
	if info, err := os.Stat(envPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf(".env mode: %v %v", info, err)
	}

	// 2. Nothing new: nothing written, nothing restarted.
	before := snapshot(t, s.root)
	out, code, got = s.toolRun(t, repo)
	if code != 0 {
		t.Fatalf("no-op deploy: exit %d\n%s", code, out)
	}
	wantCalls(t, "no-op deploy", got)
	assertUnchanged(t, "no-op deploy", before, snapshot(t, s.root))
	if !strings.Contains(out, "unit atcr.service: up to date") || !strings.Contains(out, ".env: up to date") {
		t.Errorf("no-op deploy output:\n%s", out)
	}

	// 3. A changed unit: written, reloaded, restarted (not enabled again).
	unitV2 := strings.Replace(readFile(t, templateUnit), "RestartSec=10s", "RestartSec=5s", 1)
	writeFile(t, templateUnit, unitV2, 0o644)
	out, code, got = s.toolRun(t, repo)
	if code != 0 {
		t.Fatalf("changed unit: exit %d\n%s", code, out)
	}
	wantCalls(t, "changed unit", got, "systemctl daemon-reload", "systemctl restart atcr.service")
	if readFile(t, unitPath) != unitV2 || !strings.Contains(out, "\n-RestartSec=10s\n+RestartSec=5s\n") {
		t.Errorf("changed unit not written, or no diff shown:\n%s", out)
	}

	// 4. The operator set values and comments; the release adds a key. The
	// dry run shows the diff and changes nothing; the deploy adds the key
	// with its comment and restarts the unit.
	operatorEnv := "# ATCR compose deployment (test template).\n\n# ours, since March\nAPPVIEW_DOMAIN=atcr.mine.net\n# The hold's host name.\nHOLD_DOMAIN=hold.mine.net # the EU one\n"
	writeFile(t, envPath, operatorEnv, 0o600)
	writeFile(t, filepath.Join(repo, "deploy", ".env.example"), toolEnvTemplate+"\n# Allow anonymous pulls.\nHOLD_PUBLIC=false\n", 0o644)
	before = snapshot(t, s.root)
	out, code, got = s.toolRun(t, repo, "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	wantCalls(t, "dry run", got)
	assertUnchanged(t, "dry run", before, snapshot(t, s.root))
	if !strings.Contains(out, "+# Allow anonymous pulls.\n+HOLD_PUBLIC=false\n") || !strings.Contains(out, "would restart") {
		t.Errorf("dry run shows no diff:\n%s", out)
	}
	out, code, got = s.toolRun(t, repo)
	if code != 0 {
		t.Fatalf("new key: exit %d\n%s", code, out)
	}
	wantCalls(t, "new key", got, "systemctl restart atcr.service")
	if want := operatorEnv + "\n# Allow anonymous pulls.\nHOLD_PUBLIC=false\n"; readFile(t, envPath) != want {
		t.Errorf(".env after adding a key:\n%s\nwant\n%s", readFile(t, envPath), want)
	}
	if !strings.Contains(out, "adding HOLD_PUBLIC") {
		t.Errorf("the added key is not reported:\n%s", out)
	}

	// 5. A unit whose restart fails is rolled back: the previous file back,
	// reloaded, restarted; the tool exits non-zero saying so.
	writeFile(t, templateUnit, unitV2+"# test: restart fails\n", 0o644)
	out, code, got = s.toolRun(t, repo)
	if code == 0 || !strings.Contains(out, "restart failed") || !strings.Contains(out, "rolled back") {
		t.Errorf("failing restart: exit %d\n%s", code, out)
	}
	wantCalls(t, "failing restart", got, "systemctl daemon-reload", "systemctl restart atcr.service", "systemctl daemon-reload", "systemctl restart atcr.service")
	if readFile(t, unitPath) != unitV2 {
		t.Errorf("unit not rolled back:\n%s", readFile(t, unitPath))
	}
	writeFile(t, templateUnit, unitV2, 0o644)

	// 6. A remote .env it cannot parse: reported with file and line, left
	// untouched, exit non-zero.
	broken := "APPVIEW_DOMAIN=atcr.mine.net\n# fine\nthis line is not an assignment\n"
	writeFile(t, envPath, broken, 0o600)
	out, code, got = s.toolRun(t, repo)
	if code == 0 || !strings.Contains(out, envPath+":3: ") {
		t.Errorf("unparsable .env: exit %d\n%s", code, out)
	}
	wantCalls(t, "unparsable .env", got)
	if readFile(t, envPath) != broken {
		t.Errorf("unparsable .env was changed:\n%s", readFile(t, envPath))
	}
}

// The native profile: YAML configs from pkg/config's templates. An older
// hold.yaml gets the new key with the operator's values kept; an
// unparsable appview.yaml is reported with its line and left alone.
func TestDeployToolNativeProfile(t *testing.T) {
	s := startSSHD(t)
	repo := deployRepo(t)
	var tmpl bytes.Buffer
	if err := config.WriteHoldTemplate(&tmpl); err != nil {
		t.Fatal(err)
	}
	const endpoint = "  # S3 endpoint URL; empty starts the embedded S3 server.\n  # env: S3_ENDPOINT\n  endpoint: \"\"\n"
	old := strings.Replace(tmpl.String(), endpoint, "", 1)
	old = strings.Replace(old, "  bucket: \"atcr\"\n", "  bucket: \"operators-bucket\" # ours\n", 1)
	if old == tmpl.String() || !strings.Contains(old, "operators-bucket") {
		t.Fatal("the hold template changed shape; update the test")
	}
	holdPath := filepath.Join(s.root, "etc", "atcr", "hold.yaml")
	appviewPath := filepath.Join(s.root, "etc", "atcr", "appview.yaml")
	writeFile(t, holdPath, old, 0o640)
	brokenYAML := "# appview\nserver:\n  addr: \":5000\"\n base_url: x\n"
	writeFile(t, appviewPath, brokenYAML, 0o640)

	out, code, got := s.toolRun(t, repo, "--profile", "native")
	if code == 0 || !strings.Contains(out, appviewPath+":4: ") {
		t.Errorf("unparsable appview.yaml: exit %d\n%s", code, out)
	}
	if readFile(t, appviewPath) != brokenYAML {
		t.Errorf("appview.yaml was changed")
	}
	merged := readFile(t, holdPath)
	if !strings.Contains(merged, endpoint) || !strings.Contains(merged, "  bucket: \"operators-bucket\" # ours\n") || !strings.Contains(out, "adding storage.endpoint") {
		t.Errorf("hold.yaml:\n%s\noutput:\n%s", merged, out)
	}
	if info, err := os.Stat(holdPath); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("hold.yaml lost its mode: %v %v", info, err)
	}
	wantCalls(t, "native", got,
		"systemctl daemon-reload", "systemctl enable atcr-appview.service", "systemctl restart atcr-appview.service",
		"systemctl daemon-reload", "systemctl enable atcr-hold.service", "systemctl restart atcr-hold.service")
}

// The host key is checked: an unknown or different key ends the deploy
// before anything runs; --insecure-ignore-host-key is the explicit way out.
func TestDeployToolChecksTheHostKey(t *testing.T) {
	s := startSSHD(t)
	repo := deployRepo(t)
	other := newKey(t, filepath.Join(t.TempDir(), "other"))
	writeFile(t, s.knownHosts, strings.Replace(readFile(t, s.knownHosts), string(bytes.TrimSpace(sshAuthorized(s.hostKey))), string(bytes.TrimSpace(sshAuthorized(other))), 1), 0o600)
	out, code, got := s.toolRun(t, repo, "--dry-run")
	if code == 0 || !strings.Contains(out, "HOST KEY MISMATCH") {
		t.Errorf("changed host key: exit %d\n%s", code, out)
	}
	wantCalls(t, "changed host key", got)

	writeFile(t, s.knownHosts, "", 0o600)
	out, code, _ = s.toolRun(t, repo, "--dry-run")
	if code == 0 || !strings.Contains(out, "is not in "+s.knownHosts) {
		t.Errorf("unknown host key: exit %d\n%s", code, out)
	}
	out, code, _ = s.toolRun(t, repo, "--dry-run", "--insecure-ignore-host-key")
	if code != 0 || !strings.Contains(out, "WARNING: the server's host key was not checked") || !strings.Contains(out, "dry run: nothing was changed") {
		t.Errorf("--insecure-ignore-host-key: exit %d\n%s", code, out)
	}
}

func assertUnchanged(t *testing.T, step string, before, after map[string]string) {
	t.Helper()
	for path := range joinKeys(before, after) {
		if before[path] != after[path] {
			t.Errorf("%s changed %s:\nbefore %q\nafter  %q", step, path, before[path], after[path])
		}
	}
}
