//go:build stack

package jetstreamtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Build makes sure bin/tools/jetstream is the pinned version, building it
// when it is not (install.sh's install_jetstream: go mod download and go
// build, about a minute; a no-op afterwards), and returns its path. A lock
// file keeps test processes that build at once from racing.
func Build(t testing.TB) string {
	t.Helper()
	root := repoRoot(t)
	tools := filepath.Join(root, "bin", "tools")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(tools, ".jetstream.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Close() }()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lock %s: %v", lock.Name(), err)
	}
	cmd := exec.Command("bash", "-c", "set -euo pipefail; . test/stack/install.sh; install_jetstream")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building jetstream (test/stack/install.sh install_jetstream): %v\n%s", err, out)
	}
	return filepath.Join(tools, "jetstream")
}

// Jetstream is a running Jetstream server.
type Jetstream struct {
	// URL is the base for a consumer: ws://127.0.0.1:<port>.
	URL  string
	proc *process
}

// StartJetstream builds (if needed) and starts Jetstream following pds,
// and waits until its /subscribe endpoint accepts a websocket.
func StartJetstream(t testing.TB, pds *PDS) *Jetstream {
	t.Helper()
	bin := Build(t)
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "serve",
		"--addr", addr, // the default :8080 binds every interface
		"--relay-url", pds.URL,
		"--plc-url", pds.PLCURL,
		"--data-dir", filepath.Join(dir, "data"),
		// Required with a PDS for a relay: see the package comment. The
		// accounts' repos are fetched with getRepo, then the PDS's live
		// stream is followed.
		"--backfill-repos", pds.Accounts[0].DID+","+pds.Accounts[1].DID,
	)
	cmd.Env = cleanEnv()
	js := &Jetstream{URL: "ws://" + addr}
	js.proc = startProcess(t, "jetstream", filepath.Join(dir, "jetstream.log"), cmd)
	js.proc.waitFor(t, "websocket on /subscribe", 60*time.Second, func() error {
		c, _, err := (&websocket.Dialer{HandshakeTimeout: 2 * time.Second}).Dial(js.URL+"/subscribe?wantedCollections=io.atcr.*", nil)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return js
}

// Log is the tail of Jetstream's log, for failure messages.
func (j *Jetstream) Log() string { return j.proc.tail(40) }
