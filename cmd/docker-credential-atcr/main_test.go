package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testVersion is linked into the test build to check version and User-Agent.
const testVersion = "v9.8.7-test"

var (
	binDir string // holds the built docker-credential-atcr
	binary string
)

// TestMain builds the real binary once, named as Docker expects.
func TestMain(m *testing.M) {
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "credential-helper-cmd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binDir = filepath.Join(tmp, "bin")
	binary = filepath.Join(binDir, "docker-credential-atcr")
	build := exec.Command("go", "build", "-ldflags", "-X atcr.io/pkg/version.Version="+testVersion, "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// sandbox is a HOME with nothing in it and the environment the binary runs in.
type sandbox struct {
	t    *testing.T
	home string
	env  []string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	home := t.TempDir()
	return &sandbox{t: t, home: home, env: []string{
		"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
	}}
}

func (s *sandbox) credPath() string { return filepath.Join(s.home, ".atcr", "credential-helper.json") }

// run runs the binary with stdin and returns stdout, stderr and exit status.
func (s *sandbox) run(stdin string, args ...string) (string, string, int) {
	s.t.Helper()
	cmd := exec.CommandContext(s.t.Context(), binary, args...)
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	rc := 0
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		rc = exitErr.ExitCode()
	default:
		s.t.Fatalf("run %s: %v", binary, err)
	}
	if strings.Contains(errOut.String(), "panic") || strings.Contains(out.String(), "goroutine ") {
		s.t.Fatalf("%q panicked:\n%s%s", args, out.String(), errOut.String())
	}
	return out.String(), errOut.String(), rc
}

func (s *sandbox) mustRun(wantRC int, stdin string, args ...string) (string, string) {
	s.t.Helper()
	out, errOut, rc := s.run(stdin, args...)
	if rc != wantRC {
		s.t.Fatalf("%q <<%q exited %d, want %d\nstdout: %s\nstderr: %s", args, stdin, rc, wantRC, out, errOut)
	}
	return out, errOut
}

type creds struct{ ServerURL, Username, Secret string }

func TestProtocolRoundTrip(t *testing.T) {
	s := newSandbox(t)
	s.mustRun(0, `{"ServerURL":"https://atcr.io","Username":"alice.test","Secret":"s3cret-1"}`, "store")
	s.mustRun(0, `{"ServerURL":"127.0.0.1:5000","Username":"did:plc:bob","Secret":"s3cret-2"}`+"\n", "store")

	for in, want := range map[string]creds{
		"atcr.io":               {"atcr.io", "alice.test", "s3cret-1"},
		"https://atcr.io/v2/\n": {"https://atcr.io/v2/", "alice.test", "s3cret-1"},
		"http://127.0.0.1:5000": {"http://127.0.0.1:5000", "did:plc:bob", "s3cret-2"},
	} {
		out, _ := s.mustRun(0, in, "get")
		var got creds
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("get %q: stdout %q: %v", in, out, err)
		}
		if got != want {
			t.Errorf("get %q = %+v, want %+v", in, got, want)
		}
	}

	out, _ := s.mustRun(0, "", "list")
	var list map[string]string
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list stdout %q: %v", out, err)
	}
	if len(list) != 2 || list["atcr.io"] != "alice.test" || list["127.0.0.1:5000"] != "did:plc:bob" {
		t.Errorf("list = %v", list)
	}

	out, errOut := s.mustRun(0, "https://atcr.io", "erase")
	if out != "" || !strings.Contains(errOut, "removed 1 account(s) for atcr.io") {
		t.Errorf("erase: stdout %q stderr %q", out, errOut)
	}
	out, _ = s.mustRun(1, "atcr.io", "get")
	if strings.TrimSpace(out) != "credentials not found in native keychain" {
		t.Errorf("get after erase: %q", out)
	}
	// Erasing what is not there succeeds (as the pass and wincred helpers
	// do), so `docker logout` prints no warning.
	s.mustRun(0, "atcr.io", "erase")
	s.mustRun(0, "never.example", "erase")

	if m := mode(t, s.credPath()); m != 0o600 {
		t.Errorf("credentials file mode %04o, want 0600", m)
	}
	if m := mode(t, filepath.Dir(s.credPath())); m != 0o700 {
		t.Errorf("credentials directory mode %04o, want 0700", m)
	}
}

func TestGetUnknownServer(t *testing.T) {
	s := newSandbox(t)
	out, errOut := s.mustRun(1, "ghcr.io\n", "get")
	if out != "credentials not found in native keychain\n" {
		t.Errorf("stdout = %q, want exactly the protocol's not-found message", out)
	}
	if !strings.Contains(errOut, "docker-credential-atcr login ghcr.io") {
		t.Errorf("stderr = %q, want the login hint", errOut)
	}
}

func TestMalformedStdin(t *testing.T) {
	s := newSandbox(t)
	cases := []struct {
		verb, stdin, want string
	}{
		{"store", "", "malformed credentials on stdin"},
		{"store", "atcr.io", "malformed credentials on stdin"},
		{"store", `{"ServerURL":`, "malformed credentials on stdin"},
		{"store", `{"ServerURL":["x"]}`, "malformed credentials on stdin"},
		{"store", `{"Username":"a","Secret":"b"}`, "no credentials server URL"},
		{"store", `{"ServerURL":"atcr.io","Secret":"b"}`, "no credentials username"},
		{"store", strings.Repeat("x", 200<<10), "too long"},
		{"get", "", "no credentials server URL"},
		{"get", "\x00\x01binary", "invalid registry address"},
		{"get", `{"ServerURL":"atcr.io"}`, "invalid registry address"},
		{"erase", "ftp://atcr.io", "invalid registry address"},
	}
	for _, c := range cases {
		out, _ := s.mustRun(1, c.stdin, c.verb)
		if !strings.Contains(out, c.want) {
			t.Errorf("%s <<%.30q: stdout = %q, want %q", c.verb, c.stdin, out, c.want)
		}
	}
	if _, err := os.Stat(s.credPath()); !os.IsNotExist(err) {
		t.Errorf("malformed input created the credentials file (%v)", err)
	}
}

func TestRefusesReadableCredentialsFile(t *testing.T) {
	s := newSandbox(t)
	s.mustRun(0, `{"ServerURL":"atcr.io","Username":"alice.test","Secret":"x"}`, "store")
	if err := os.Chmod(s.credPath(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := s.mustRun(1, "atcr.io", "get")
	if !strings.Contains(out, "chmod 600 "+s.credPath()) {
		t.Errorf("get on a 0644 file: stdout %q", out)
	}
	_, errOut := s.mustRun(1, "", "status")
	if !strings.Contains(errOut, "chmod 600") {
		t.Errorf("status on a 0644 file: stderr %q", errOut)
	}
}

func TestCredentialsFileOverride(t *testing.T) {
	s := newSandbox(t)
	custom := filepath.Join(t.TempDir(), "sub", "creds.json")
	s.env = append(s.env, "ATCR_CREDENTIALS_FILE="+custom)
	s.mustRun(0, `{"ServerURL":"atcr.io","Username":"alice.test","Secret":"x"}`, "store")
	if m := mode(t, custom); m != 0o600 {
		t.Errorf("mode %04o", m)
	}
	if _, err := os.Stat(s.credPath()); !os.IsNotExist(err) {
		t.Error("the default file was written despite ATCR_CREDENTIALS_FILE")
	}
}

func TestVersionAndHelp(t *testing.T) {
	s := newSandbox(t)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _ := s.mustRun(0, "", args...)
		if out != "docker-credential-atcr "+testVersion+"\n" {
			t.Errorf("%v: %q", args, out)
		}
	}
	out, _ := s.mustRun(0, "", "--help")
	for _, want := range []string{"login", "logout", "status", "switch", "configure-docker"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(out, "  get ") || strings.Contains(out, "completion") {
		t.Errorf("help lists hidden or default commands:\n%s", out)
	}
	_, errOut := s.mustRun(1, "", "frobnicate")
	if !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: %q", errOut)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
