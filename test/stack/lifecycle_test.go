//go:build stack

package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
)

// The local stack (make run) on the host's loopback: its life cycle in the
// three ways it is used. Needs test/stack/install.sh and the binaries in bin/;
// run with: go test -tags stack -count=1 ./test/stack/ (test/stack/e2e.sh does).

var stackPorts = []string{"2582", "2583", "6008", "8080", "9000", "5000"}

func TestLocalStackForegroundStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			root := repoRoot(t)
			requirePortsFree(t)
			// A previous run's file must not pass for this run's.
			if err := os.Remove(filepath.Join(root, "var", "dev", "stack.env")); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			cmd := exec.Command(filepath.Join(root, "test", "stack", "run.sh"))
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Signal(syscall.SIGTERM)
					<-done
				}
			})

			env := waitStackEnv(t, root, done, &out)
			pids := stackPIDs(t, root)
			checkLocalStack(t, env)

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				var exit *exec.ExitError
				if !errors.As(err, &exit) {
					t.Fatalf("run.sh after %s: %v, want a non-zero exit\n%s", sig, err, out.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("run.sh did not exit within 30 s of %s\n%s", sig, out.String())
			}
			checkStopped(t, pids)
		})
	}
}

func TestLocalStackBackgroundAndStop(t *testing.T) {
	root := repoRoot(t)
	requirePortsFree(t)
	run := exec.Command(filepath.Join(root, "test", "stack", "run.sh"), "--background")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("run.sh --background: %v\n%s", err, out)
	}
	pids := stackPIDs(t, root)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = exec.Command(filepath.Join(root, "test", "stack", "stop.sh"), "dev").Run()
		}
	})
	env := sourceEnv(t, filepath.Join(root, "var", "dev", "stack.env"))
	checkLocalStack(t, env)

	out, err := exec.Command(filepath.Join(root, "test", "stack", "stop.sh"), "dev").CombinedOutput()
	stopped = true
	if err != nil {
		t.Fatalf("stop.sh: %v\n%s", err, out)
	}
	checkStopped(t, pids)
	if _, err := os.Stat(filepath.Join(root, "var", "dev.pids")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("var/dev.pids still exists after stop.sh (err %v)", err)
	}
}

// checkLocalStack checks stack.env's keys and that each service it names answers.
func checkLocalStack(t *testing.T, env map[string]string) {
	t.Helper()
	want := map[string]string{
		"ATCR_REGISTRY":    "127.0.0.1:5000",
		"ATCR_USERNAME":    "alice.test",
		"ATCR_USERNAME2":   "bob.test",
		"ATCR_HOLD_URL":    "http://localhost:8080",
		"ATCR_HOLD_DID":    "did:web:localhost%3A8080",
		"ATCR_PDS_URL":     "http://127.0.0.1:2583",
		"ATCR_PLC_URL":     "http://127.0.0.1:2582",
		"ATCR_S3_ENDPOINT": "http://127.0.0.1:9000",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("stack.env %s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"ATCR_PASSWORD", "ATCR_PASSWORD2", "ATCR_DID", "ATCR_DID2", "ATCR_ACCOUNT_PASSWORD"} {
		if env[k] == "" {
			t.Errorf("stack.env has no %s", k)
		}
	}
	for _, u := range []string{
		env["ATCR_PLC_URL"] + "/" + env["ATCR_DID"],
		env["ATCR_PDS_URL"] + "/xrpc/com.atproto.server.describeServer",
		env["ATCR_HOLD_URL"] + "/xrpc/_health",
		"http://" + env["ATCR_REGISTRY"] + "/health",
	} {
		if code := get(t, u); code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", u, code)
		}
	}
	if code := get(t, env["ATCR_S3_ENDPOINT"]+"/"); code == 0 {
		t.Errorf("the embedded S3 server at %s does not answer", env["ATCR_S3_ENDPOINT"])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, n := range []string{"", "2"} {
		c, err := atclient.LoginWithPasswordHost(ctx, env["ATCR_PDS_URL"], env["ATCR_USERNAME"+n], env["ATCR_PASSWORD"+n], "", nil)
		if err != nil {
			t.Errorf("app-password login as %s: %v", env["ATCR_USERNAME"+n], err)
		} else if c.AccountDID == nil || c.AccountDID.String() != env["ATCR_DID"+n] {
			t.Errorf("login as %s gave DID %v, want %s", env["ATCR_USERNAME"+n], c.AccountDID, env["ATCR_DID"+n])
		}
	}
	checkLocalJetstream(t, env)
}

func get(t *testing.T, u string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(u)
	if err != nil {
		t.Logf("GET %s: %v", u, err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func requirePortsFree(t *testing.T) {
	t.Helper()
	for _, p := range stackPorts {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, time.Second); err == nil {
			c.Close()
			t.Fatalf("127.0.0.1:%s is in use: stop the running stack first (test/stack/stop.sh)", p)
		}
	}
}

// waitStackEnv waits for run.sh to write var/dev/stack.env and returns it.
func waitStackEnv(t *testing.T, root string, done <-chan error, out *bytes.Buffer) map[string]string {
	t.Helper()
	path := filepath.Join(root, "var", "dev", "stack.env")
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run.sh exited before the stack was up: %v\n%s", err, out.String())
		default:
		}
		if _, err := os.Stat(path); err == nil {
			return sourceEnv(t, path)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s after 90 s\n%s", path, out.String())
	return nil
}

// sourceEnv sources the file in bash, as a developer would, and returns the
// ATCR_* variables it exported.
func sourceEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	out, err := exec.Command("bash", "-c", `set -eu; . "$1"; env -0`, "_", path).Output()
	if err != nil {
		t.Fatalf("source %s: %v", path, err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "ATCR_") {
			env[k] = v
		}
	}
	return env
}

// stackPIDs reads the services' PIDs from var/dev.pids.
func stackPIDs(t *testing.T, root string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "var", "dev.pids"))
	if err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("bad line in var/dev.pids: %q", line)
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("bad line in var/dev.pids: %q", line)
		}
		pids[f[1]] = pid
	}
	for _, name := range []string{"pds", "jetstream", "hold", "appview"} {
		if pids[name] == 0 {
			t.Fatalf("var/dev.pids names no %s: %q", name, data)
		}
	}
	return pids
}

// checkStopped: no service process left (a zombie awaiting its reaper counts as
// gone) and no stack port open.
func checkStopped(t *testing.T, pids map[string]int) {
	t.Helper()
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) is still running", name, pid)
		}
	}
	for _, p := range stackPorts {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, time.Second); err == nil {
			c.Close()
			t.Errorf("127.0.0.1:%s still accepts connections", p)
		}
	}
}

func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}
