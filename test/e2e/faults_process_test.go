//go:build e2e

package e2e

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// faultProcess is one of the project's binaries run by a test: its own
// config and data directory, stopped and started again at will (the data
// directory survives), stopped for good when the test ends. Its log, all
// lives appended, is printed when the test fails.
type faultProcess struct {
	name    string
	bin     string
	args    []string
	env     []string
	logPath string
	health  string // URL answering 200 once the process serves
	client  *http.Client

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// faultBinary finds a binary as e2e.sh provides it: $<envVar>, else on
// PATH (bin/).
func faultBinary(t *testing.T, envVar, name string) string {
	t.Helper()
	if bin := os.Getenv(envVar); bin != "" {
		return bin
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH (bin/): run make build", name)
	}
	return bin
}

// faultEnviron is the environment of a test's own server: the stack's
// variables left out (ATCR_*, HOLD_*, S3_* and AWS_* would override its
// config; ATCR_PLC_URL is also an AppView's identity.plc_url), and the
// test's trust bundle for Go and for the AWS SDK.
func faultEnviron(bundle string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "ATCR_"), strings.HasPrefix(name, "HOLD_"),
			strings.HasPrefix(name, "S3_"), strings.HasPrefix(name, "AWS_"), name == "SSL_CERT_FILE":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "SSL_CERT_FILE="+bundle, "AWS_CA_BUNDLE="+bundle)
}

func newFaultProcess(t *testing.T, name, bin, config, bundle, health string, client *http.Client) *faultProcess {
	t.Helper()
	p := &faultProcess{
		name: name, bin: bin, args: []string{"serve", "--config", config},
		env:     faultEnviron(bundle),
		logPath: filepath.Join(filepath.Dir(config), name+".log"),
		health:  health, client: client,
	}
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			out, _ := os.ReadFile(p.logPath)
			t.Logf("%s log (last 6 KiB):\n%s", p.name, out[max(0, len(out)-6144):])
		}
	})
	return p
}

// start runs the binary and waits until its health URL answers 200.
func (p *faultProcess) start(t *testing.T) {
	t.Helper()
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s (%s): %v", p.name, p.bin, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	exited := p.exited
	go func() { p.waitErr = cmd.Wait(); logFile.Close(); close(exited) }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		select {
		case <-exited:
			out, _ := os.ReadFile(p.logPath)
			p.cmd = nil
			t.Fatalf("%s exited: %v\n%s", p.name, p.waitErr, out[max(0, len(out)-6144):])
		case <-ctx.Done():
			t.Fatalf("%s did not answer %s within 30 s", p.name, p.health)
		case <-time.After(100 * time.Millisecond):
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.health, nil)
		if resp, err := p.client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
}

// stop sends SIGTERM and waits for the exit (SIGKILL after 15 s, which
// fails the test: a server must stop when told to).
func (p *faultProcess) stop(t *testing.T) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("%s ignored SIGTERM for 15 s", p.name)
	}
	p.cmd = nil
}

// kill sends SIGKILL, as a crash or the OOM killer would: no clean-up
// runs. It returns once the process is gone.
func (p *faultProcess) kill(t *testing.T) {
	t.Helper()
	if p.cmd == nil {
		t.Fatalf("%s is not running", p.name)
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// restart stops the process and starts it again on the same data.
func (p *faultProcess) restart(t *testing.T) {
	t.Helper()
	p.stop(t)
	p.start(t)
}

// faultFreeAddr is a free loopback address for a server to bind.
func faultFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// faultTrustBundle writes the stack's CA bundle plus the certificate every
// httptest TLS server of this process serves (the gates', the AppView
// fronts') to dir, for the servers a test runs.
func faultTrustBundle(t *testing.T, dir string) string {
	t.Helper()
	bundle, err := os.ReadFile(env(t, "ATCR_CA_BUNDLE"))
	if err != nil {
		t.Fatal(err)
	}
	probe := httptest.NewTLSServer(http.NotFoundHandler())
	bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: probe.Certificate().Raw})...)
	probe.Close()
	path := filepath.Join(dir, "ca-bundle.pem")
	if err := os.WriteFile(path, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
