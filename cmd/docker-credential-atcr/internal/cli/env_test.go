package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atcr.io/cmd/docker-credential-atcr/internal/credstore"
)

// testEnv runs the real commands in-process against temp files, a fake
// clock (sleeps are recorded, not slept), a recorded browser and a fake
// parent command line.
type testEnv struct {
	*Env
	t              *testing.T
	stdout, stderr bytes.Buffer
	vars           map[string]string
	now            time.Time
	sleeps         []time.Duration
	opened         []string
	cmdline        []string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{
		t:    t,
		vars: map[string]string{"DOCKER_CONFIG": filepath.Join(dir, "docker")},
		now:  time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC),
	}
	e.Env = &Env{
		Stdin:         strings.NewReader(""),
		Stdout:        &e.stdout,
		Stderr:        &e.stderr,
		Getenv:        func(k string) string { return e.vars[k] },
		HomeDir:       filepath.Join(dir, "home"),
		ParentCmdline: func() ([]string, error) { return e.cmdline, nil },
		OpenBrowser:   func(u string) error { e.opened = append(e.opened, u); return nil },
		LookPath:      func(string) (string, error) { return "/usr/local/bin/docker-credential-atcr", nil },
		Hostname:      func() (string, error) { return "testhost", nil },
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.sleeps = append(e.sleeps, d)
			e.now = e.now.Add(d)
			return ctx.Err()
		},
		Now: func() time.Time { return e.now },
	}
	return e
}

// run executes args with stdin and returns the exit status; stdout and
// stderr hold only this run's output.
func (e *testEnv) run(stdin string, args ...string) int {
	e.t.Helper()
	e.stdout.Reset()
	e.stderr.Reset()
	e.Stdin = strings.NewReader(stdin)
	return Run(context.Background(), e.Env, args)
}

func (e *testEnv) credPath() string {
	return filepath.Join(e.HomeDir, ".atcr", "credential-helper.json")
}

func (e *testEnv) load() *credstore.File {
	e.t.Helper()
	f, err := credstore.Store{Path: e.credPath()}.Load()
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

func (e *testEnv) seed(key string, accounts ...credstore.Account) {
	e.t.Helper()
	f := e.load()
	reg := f.EnsureRegistry(key, "https://"+key)
	for _, a := range accounts {
		reg.Put(a)
	}
	if err := (credstore.Store{Path: e.credPath()}).Save(f); err != nil {
		e.t.Fatal(err)
	}
}

// mustRun fails the test unless args exit with want.
func (e *testEnv) mustRun(want int, stdin string, args ...string) {
	e.t.Helper()
	if got := e.run(stdin, args...); got != want {
		e.t.Fatalf("%q exited %d, want %d\nstdout: %s\nstderr: %s", args, got, want, e.stdout.String(), e.stderr.String())
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

var (
	alice = credstore.Account{Handle: "alice.test", DID: "did:plc:alice", Secret: "atcr_dev_alice", Source: credstore.SourceDevice, DeviceID: "d-a"}
	bob   = credstore.Account{Handle: "bob.test", DID: "did:plc:bob", Secret: "atcr_dev_bob", Source: credstore.SourceDevice, DeviceID: "d-b"}
	carol = credstore.Account{Handle: "carol.test", DID: "did:plc:carol", Secret: "atcr_dev_carol", Source: credstore.SourceDockerLogin}
)
