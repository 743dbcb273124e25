//go:build unix

package main

import (
	"atcr.io/internal/syncbuf"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The hold serves its health and identity endpoints, bootstraps its captain,
// runs scheduled GC, refuses an offline GC while it runs, stops cleanly on
// SIGTERM and comes back with the same identity and records and no new
// commit.
func TestServeLifecycle(t *testing.T) {
	port := freePort(t)
	dataDir := t.TempDir()
	cfg := holdConfig(t, port, dataDir, "gc:\n  interval: 1s\n")
	h := startHold(t, cfg, port)

	wantDID := fmt.Sprintf("did:web:127.0.0.1%%3A%d", port)
	if got := h.did(); got != wantDID {
		t.Errorf("did.json id = %s, want %s", got, wantDID)
	}
	if v := h.getJSON("/xrpc/_health")["version"]; v == "" || v == nil {
		t.Errorf("_health version = %v", v)
	}
	captain := h.records("io.atcr.hold.captain")
	crew := h.records("io.atcr.hold.crew")
	if len(captain) != 1 || len(crew) != 1 {
		t.Fatalf("captain %v crew %v, want one of each", captain, crew)
	}
	rec := h.getJSON("/xrpc/com.atproto.repo.getRecord?repo=" + url.QueryEscape(wantDID) + "&collection=io.atcr.hold.captain&rkey=self")
	if v := rec["value"].(map[string]any); v["owner"] != ownerDID || v["region"] != "test-region" {
		t.Errorf("captain record = %v", v)
	}
	h.waitLog(`msg="GC finished"`)
	h.waitLog(`msg="Repository compacted"`)

	_, stderr, err := run(t, "gc", "--config", cfg)
	if err == nil || !strings.Contains(stderr, "in use by a running hold") {
		t.Errorf("gc while serving: err %v, stderr %q; want a refusal", err, stderr)
	}
	rev := h.rev()
	h.stop()

	h = startHold(t, cfg, port)
	if got := h.did(); got != wantDID {
		t.Errorf("DID after restart = %s, want %s", got, wantDID)
	}
	if got := h.records("io.atcr.hold.captain"); fmt.Sprint(got) != fmt.Sprint(captain) {
		t.Errorf("captain after restart %v, want %v", got, captain)
	}
	if got := h.records("io.atcr.hold.crew"); fmt.Sprint(got) != fmt.Sprint(crew) {
		t.Errorf("crew after restart %v, want %v", got, crew)
	}
	if got := h.rev(); got != rev {
		t.Errorf("restart committed: rev %s -> %s", rev, got)
	}
	h.stop()
}

// repo export → repo import into a fresh data directory round-trips the
// records; gc --dry-run works on the stopped hold.
func TestRepoExportImportAndOfflineGC(t *testing.T) {
	port := freePort(t)
	srcDir := t.TempDir()
	srcCfg := holdConfig(t, port, srcDir, "")
	h := startHold(t, srcCfg, port)
	captain := h.records("io.atcr.hold.captain")
	crew := h.records("io.atcr.hold.crew")

	// Export works while the hold runs.
	car, stderr, err := run(t, "repo", "export", "--config", srcCfg)
	if err != nil || len(car) == 0 {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	// SIGUSR2 asks the running hold for a collection.
	if err := h.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	h.waitLog(`msg="GC finished"`)
	h.stop()

	out, stderr, err := run(t, "gc", "--dry-run", "--config", srcCfg)
	if err != nil || !strings.Contains(out, "Dry run: nothing was deleted.") || !strings.Contains(out, "would delete") {
		t.Errorf("gc --dry-run: %v\n%s\n%s", err, out, stderr)
	}
	if _, _, err := run(t, "gc", "--config", srcCfg); err != nil {
		t.Errorf("gc on the stopped hold: %v", err)
	}

	carFile := filepath.Join(t.TempDir(), "hold.car")
	if err := os.WriteFile(carFile, []byte(car), 0o600); err != nil {
		t.Fatal(err)
	}
	dstCfg := holdConfig(t, port, t.TempDir(), "")
	if out, stderr, err := run(t, "repo", "import", "--config", dstCfg, carFile); err != nil || !strings.Contains(out, "imported") {
		t.Fatalf("import: %v\n%s\n%s", err, out, stderr)
	}
	h = startHold(t, dstCfg, port)
	if got := h.records("io.atcr.hold.captain"); fmt.Sprint(got) != fmt.Sprint(captain) {
		t.Errorf("imported captain %v, want %v", got, captain)
	}
	if got := h.records("io.atcr.hold.crew"); fmt.Sprint(got) != fmt.Sprint(crew) {
		t.Errorf("imported crew %v, want %v", got, crew)
	}
	h.stop()

	if _, stderr, err := run(t, "repo", "export", "--config", holdConfig(t, port, t.TempDir(), "")); err == nil || !strings.Contains(stderr, "no hold repository") {
		t.Errorf("export of an empty data dir: %v %s", err, stderr)
	}
}

// A hold that cannot listen (the port is taken) exits with the error
// instead of hanging on its background GC loop, which only the signal
// context would have ended.
func TestServeExitsWhenTheAddressIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	cfg := holdConfig(t, port, t.TempDir(), "")

	// Generous: start-up (embedded S3, repository) takes a few seconds on a
	// loaded machine; a hold that hangs never exits at all.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var stderr syncbuf.Buffer
	cmd := exec.CommandContext(ctx, binary, "serve", "--config", cfg)
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("atcr-hold serve did not exit with its port taken; killed\n%s", stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(stderr.String(), "address already in use") {
		t.Fatalf("serve with its port taken: err %v, want a non-zero exit naming the address\n%s", err, stderr.String())
	}
}
