package deploy

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// envExample stands in for deploy/.env.example, which the compose work owns.
const envExample = "# ATCR (test fixture)\nAPPVIEW_DOMAIN=registry.example.com\nHOLD_DOMAIN=hold.example.com\n"

// sandbox is one run environment of init-upcloud.sh: a temporary root, the
// stubs, and the tree the stub `git clone` copies.
type sandbox struct {
	root, bin, state, fixture string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	s := &sandbox{root: t.TempDir(), fixture: t.TempDir()}
	s.bin, s.state = installStubs(t)
	// Rocky Linux's default zone: ssh, dhcpv6-client and cockpit (9090).
	writeFile(t, filepath.Join(s.state, "fw-services"), "ssh\ndhcpv6-client\ncockpit\n", 0o644)
	writeFile(t, filepath.Join(s.state, "fw-ports"), "9090/tcp\n", 0o644)
	repo := repoRoot(t)
	writeFile(t, filepath.Join(s.fixture, "deploy", ".env.example"), envExample, 0o644)
	for _, f := range []string{"systemd/atcr.service", "scripts/get-hold-oauth.sh", "scripts/logs.sh", "scripts/rebuild.sh"} {
		info, err := os.Stat(filepath.Join(repo, "deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(s.fixture, "deploy", f), readFile(t, filepath.Join(repo, "deploy", f)), info.Mode().Perm())
	}
	return s
}

// run runs init-upcloud.sh with extra environment and returns its output.
func (s *sandbox) run(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "deploy", "init-upcloud.sh"))
	cmd.Env = append(os.Environ(),
		"PATH="+s.bin+":"+os.Getenv("PATH"),
		"ATCR_INIT_ROOT="+s.root, "STUB_STATE="+s.state, "STUB_FIXTURE="+s.fixture)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("init-upcloud.sh: %v\n%s", err, out)
	}
	return string(out)
}

// snapshot describes every file and directory under root: mode, size,
// modification time and content digest.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v %d %d", info.Mode(), info.Size(), info.ModTime().UnixNano())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		snap[strings.TrimPrefix(path, root)] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// inOrder reports the first of want that does not follow the previous one in
// got (each want is a prefix of a recorded command line), or "".
func inOrder(got, want []string) string {
	i := 0
	for _, w := range want {
		for i < len(got) && !strings.HasPrefix(got[i], w) {
			i++
		}
		if i == len(got) {
			return w
		}
		i++
	}
	return ""
}

func TestInitScriptInASandboxTwice(t *testing.T) {
	s := newSandbox(t)
	env := []string{"ATCR_REPO=https://git.example.com/atcr.git", "ATCR_REF=v1.2.3"}
	out := s.run(t, env...)
	first := calls(t, s.state)
	if missing := inOrder(first, []string{
		"dnf -y -q upgrade",
		"dnf -y -q install dnf-plugins-core",
		"dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo",
		"docker compose version",
		"dnf -y -q install docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin",
		"systemctl enable docker", "systemctl start docker",
		"systemctl enable firewalld", "systemctl start firewalld",
		"firewall-cmd --permanent --add-service=http",
		"firewall-cmd --permanent --add-service=https",
		"firewall-cmd --permanent --remove-service=dhcpv6-client",
		"firewall-cmd --permanent --remove-service=cockpit",
		"firewall-cmd --permanent --remove-port=9090/tcp",
		"firewall-cmd --reload",
		"git clone --quiet https://git.example.com/atcr.git " + s.root + "/opt/atcr/.clone.tmp",
		"git -C " + s.root + "/opt/atcr/.clone.tmp checkout --quiet v1.2.3",
		"systemctl daemon-reload",
		"systemctl enable atcr",
	}); missing != "" {
		t.Fatalf("first run: %q missing or out of order in\n%s\n%s", missing, strings.Join(first, "\n"), out)
	}
	if slices.Contains(first, "firewall-cmd --permanent --add-service=ssh") {
		t.Error("ssh was already allowed, yet added again")
	}
	if got := strings.Fields(readFile(t, filepath.Join(s.state, "fw-services"))); !slices.Equal(got, []string{"ssh", "http", "https"}) {
		t.Errorf("firewall services after the run: %v, want ssh http https", got)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(s.state, "fw-ports"))); got != "" {
		t.Errorf("firewall ports after the run: %q, want none", got)
	}
	if !strings.Contains(out, "ATCR init complete: ") {
		t.Errorf("no completion line in\n%s", out)
	}

	repo := repoRoot(t)
	opt := filepath.Join(s.root, "opt", "atcr")
	wantFiles := map[string]struct {
		text string
		mode os.FileMode
	}{
		filepath.Join(opt, ".env"):                                        {envExample, 0o600},
		filepath.Join(s.root, "etc", "systemd", "system", "atcr.service"): {readFile(t, filepath.Join(repo, "deploy", "systemd", "atcr.service")), 0o644},
		filepath.Join(opt, "get-hold-oauth.sh"):                           {readFile(t, filepath.Join(repo, "deploy", "scripts", "get-hold-oauth.sh")), 0o755},
		filepath.Join(opt, "logs.sh"):                                     {readFile(t, filepath.Join(repo, "deploy", "scripts", "logs.sh")), 0o755},
		filepath.Join(opt, "rebuild.sh"):                                  {readFile(t, filepath.Join(repo, "deploy", "scripts", "rebuild.sh")), 0o755},
		filepath.Join(opt, "deploy", ".env.example"):                      {envExample, 0o644},
	}
	for path, want := range wantFiles {
		info, err := os.Stat(path)
		if err != nil {
			t.Errorf("not written: %v", err)
			continue
		}
		if got := readFile(t, path); got != want.text {
			t.Errorf("%s:\n%s\nwant\n%s", path, got, want.text)
		}
		if info.Mode().Perm() != want.mode {
			t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want.mode)
		}
	}
	if _, err := os.Stat(filepath.Join(opt, ".clone.tmp")); !os.IsNotExist(err) {
		t.Errorf("the clone's temporary directory is left behind (%v)", err)
	}

	// The operator edits .env; the second run must change nothing at all.
	writeFile(t, filepath.Join(opt, ".env"), envExample+"HOLD_OWNER=did:plc:operator\n", 0o600)
	before := snapshot(t, s.root)
	out = s.run(t, env...)
	second := calls(t, s.state)
	after := snapshot(t, s.root)
	for path := range joinKeys(before, after) {
		if before[path] != after[path] {
			t.Errorf("the second run changed %s:\nbefore %q\nafter  %q", path, before[path], after[path])
		}
	}
	readOnly := []string{"dnf -y -q upgrade", "docker compose version", "systemctl is-", "firewall-cmd --permanent --query-service=", "firewall-cmd --permanent --list-"}
	for _, c := range second {
		if !slices.ContainsFunc(readOnly, func(p string) bool { return strings.HasPrefix(c, p) }) {
			t.Errorf("second run: %q changes something", c)
		}
	}
	if !strings.Contains(out, "ATCR init complete: nothing changed") {
		t.Errorf("second run: no \"nothing changed\" completion line in\n%s", out)
	}
}

// joinKeys is the set of keys of a and b.
func joinKeys(a, b map[string]string) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// Without ATCR_REPO nothing is cloned, but the unit is in place and the
// completion line says what to do next.
func TestInitScriptWithoutRepository(t *testing.T) {
	s := newSandbox(t)
	out := s.run(t, "ATCR_REPO=")
	for _, c := range calls(t, s.state) {
		if strings.HasPrefix(c, "git ") {
			t.Errorf("cloned without ATCR_REPO: %q", c)
		}
	}
	if _, err := os.Stat(filepath.Join(s.root, "etc", "systemd", "system", "atcr.service")); err != nil {
		t.Errorf("unit not installed: %v", err)
	}
	if !strings.Contains(out, "ATCR init complete: ") || !strings.Contains(out, "ATCR_REPO") {
		t.Errorf("completion line does not say to set ATCR_REPO:\n%s", out)
	}
}
