//go:build unix

package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/scan/scantest"
)

// runHold runs the built atcr-hold with args and returns its stdout; it
// fails the test when the command fails.
func runHold(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("atcr-hold %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func TestScannerDBImportAndStatus(t *testing.T) {
	dataDir := t.TempDir()
	cfg := holdConfig(t, freePort(t), dataDir, "")

	before := runHold(t, "scanner", "db", "status", "--config", cfg)
	if !strings.Contains(before, "database   none") || !strings.Contains(before, "no vulnerability database") {
		t.Errorf("status without a database:\n%s", before)
	}

	built := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	archive := scantest.Archive(t, built)
	out := runHold(t, "scanner", "db", "import", archive, "--config", cfg)
	if !strings.Contains(out, "Imported "+archive) {
		t.Errorf("import output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "vulndb", "6", "vulnerability.db")); err != nil {
		t.Errorf("the database is not in <data_dir>/vulndb: %v", err)
	}

	status := runHold(t, "scanner", "db", "status", "--config", cfg)
	for _, want := range []string{"built      2026-12-01T06:00:00Z", "schema     v6.", "providers  1: alpine", "from       manual import"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}

	// A file that is not a database archive is refused and the database
	// stays.
	junk := filepath.Join(t.TempDir(), "junk.tar.gz")
	if err := os.WriteFile(junk, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(binary, "scanner", "db", "import", junk, "--config", cfg).Run(); err == nil {
		t.Error("importing junk succeeded")
	}
	if again := runHold(t, "scanner", "db", "status", "--config", cfg); !strings.Contains(again, "2026-12-01T06:00:00Z") {
		t.Errorf("status after a refused import:\n%s", again)
	}
}

// scanner.db_dir and scanner.temp_dir default under the data directory,
// and openVulnDB (what serve calls at start-up) says in one line that
// there is no database.
func TestScannerDirsAndStartupLine(t *testing.T) {
	cfg, err := config.LoadHold(holdConfig(t, freePort(t), t.TempDir(), ""))
	if err != nil {
		t.Fatal(err)
	}
	dbDir, err := scannerDBDir(cfg)
	if err != nil || dbDir != filepath.Join(cfg.Server.DataDir, "vulndb") {
		t.Errorf("db dir %q, %v", dbDir, err)
	}
	tmp, err := scannerTempDir(cfg)
	if err != nil || tmp != filepath.Join(cfg.Server.DataDir, "scan-tmp") {
		t.Errorf("temp dir %q, %v", tmp, err)
	}
	cfg.Scanner.DBDir = filepath.Join(t.TempDir(), "elsewhere")
	if dbDir, _ := scannerDBDir(cfg); dbDir != cfg.Scanner.DBDir {
		t.Errorf("db dir %q, want the configured %q", dbDir, cfg.Scanner.DBDir)
	}
	var logs bytes.Buffer
	db, err := openVulnDB(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "No vulnerability database: scanning is off") {
		t.Errorf("start-up log (%d lines):\n%s", n, logs.String())
	}
}
