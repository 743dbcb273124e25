//go:build unix

package main

import (
	"atcr.io/internal/syncbuf"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the atcr-hold built once for the tests in this package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "atcr-hold-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "atcr-hold")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build atcr-hold:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const ownerDID = "did:plc:ownerownerownerownerowne"

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// holdConfig writes a config for a local hold on port with its data in
// dataDir and returns the file's path.
func holdConfig(t *testing.T, port int, dataDir, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hold.yaml")
	cfg := fmt.Sprintf(`insecure_local_dev: true
log: {level: info}
server:
  addr: 127.0.0.1:%[1]d
  public_url: http://127.0.0.1:%[1]d
  data_dir: %[2]s
  shutdown_timeout: 5s
registration:
  owner_did: %[3]s
  region: test-region
%[4]s`, port, dataDir, ownerDID, extra)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// holdProc is a running `atcr-hold serve`.
type holdProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	stderr *syncbuf.Buffer
	done   chan error
}

func startHold(t *testing.T, cfgPath string, port int) *holdProc {
	t.Helper()
	h := &holdProc{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", port), stderr: &syncbuf.Buffer{}, done: make(chan error, 1)}
	h.cmd = exec.Command(binary, "serve", "--config", cfgPath)
	h.cmd.Stderr = h.stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.done <- h.cmd.Wait() }()
	t.Cleanup(func() {
		if h.cmd.ProcessState == nil {
			_ = h.cmd.Process.Kill()
			<-h.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(h.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return h
			}
		}
		select {
		case err := <-h.done:
			t.Fatalf("hold exited during start-up: %v\n%s", err, h.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hold not healthy after 30s\n%s", h.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and requires a clean exit (status 0).
func (h *holdProc) stop() {
	h.t.Helper()
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		h.t.Fatal(err)
	}
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Fatalf("hold exited with %v after SIGTERM\n%s", err, h.stderr)
		}
	case <-time.After(20 * time.Second):
		h.t.Fatalf("hold still running 20s after SIGTERM\n%s", h.stderr)
	}
}

// waitLog waits until the hold has logged want.
func (h *holdProc) waitLog(want string) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(h.stderr.String(), want) {
		if time.Now().After(deadline) {
			h.t.Fatalf("hold never logged %q\n%s", want, h.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getJSON fetches path and decodes the JSON body.
func (h *holdProc) getJSON(path string) map[string]any {
	h.t.Helper()
	resp, err := http.Get(h.url + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatalf("GET %s: %v in %s", path, err, raw)
	}
	return out
}

// did is the hold's DID from its did.json.
func (h *holdProc) did() string {
	return h.getJSON("/.well-known/did.json")["id"].(string)
}

// records lists a collection as uri → cid.
func (h *holdProc) records(collection string) map[string]string {
	h.t.Helper()
	q := url.Values{"repo": {h.did()}, "collection": {collection}}
	out := map[string]string{}
	for _, r := range h.getJSON("/xrpc/com.atproto.repo.listRecords?" + q.Encode())["records"].([]any) {
		rec := r.(map[string]any)
		out[rec["uri"].(string)] = rec["cid"].(string)
	}
	return out
}

func (h *holdProc) rev() string {
	return h.getJSON("/xrpc/com.atproto.sync.getLatestCommit?did=" + url.QueryEscape(h.did()))["rev"].(string)
}

// run executes an atcr-hold command and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
