package db

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"atcr.io/migrations"
)

func migrationFile(description, query string) *fstest.MapFile {
	// The same text for both engines: the test migrations are portable SQL.
	indented := "  " + strings.ReplaceAll(query, "\n", "\n  ") + "\n"
	return &fstest.MapFile{Data: []byte("description: " + description + "\nquery: |\n" + indented + "postgres: |\n" + indented)}
}

func tableExists(t *testing.T, d *DB, name string) bool {
	t.Helper()
	var n int
	if err := d.sql.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

type appliedRow struct {
	version   int
	name      string
	appliedAt int64
}

func appliedRows(t *testing.T, d *DB) []appliedRow {
	t.Helper()
	rows, err := d.sql.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []appliedRow
	for rows.Next() {
		var r appliedRow
		if err := rows.Scan(&r.version, &r.name, &r.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenFreshDatabaseMigrates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "appview.sqlite")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	for _, table := range []string{"schema_migrations", "pds_sessions", "profile_checks"} {
		if !tableExists(t, d, table) {
			t.Errorf("table %s missing after migration", table)
		}
	}
	shipped, err := loadMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	got := appliedRows(t, d)
	if len(got) != len(shipped) || len(got) < 2 {
		t.Fatalf("schema_migrations = %+v, want every shipped migration (%d)", got, len(shipped))
	}
	for i, m := range shipped {
		if got[i].version != m.Version || got[i].name != m.Name {
			t.Errorf("row %d = %+v, want %04d_%s", i, got[i], m.Version, m.Name)
		}
	}

	var journal string
	var foreignKeys, busy int
	if err := d.sql.QueryRow(`PRAGMA journal_mode`).Scan(&journal); err != nil {
		t.Fatal(err)
	}
	if err := d.sql.QueryRow(`PRAGMA foreign_keys`).Scan(&foreignKeys); err != nil {
		t.Fatal(err)
	}
	if err := d.sql.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if journal != "wal" || foreignKeys != 1 || busy != int(busyTimeout.Milliseconds()) {
		t.Errorf("pragmas: journal_mode=%s foreign_keys=%d busy_timeout=%d", journal, foreignKeys, busy)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode %o, want 600", perm)
	}
}

func TestReopenIsNoOp(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "appview.sqlite")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.MarkProfileChecked(ctx, "did:plc:alice", fixedNow); err != nil {
		t.Fatal(err)
	}
	before := appliedRows(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	after := appliedRows(t, d)
	if len(after) != len(before) {
		t.Fatalf("re-open changed schema_migrations: %+v -> %+v", before, after)
	}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("row %d changed: %+v -> %+v", i, before[i], after[i])
		}
	}
	if ok, err := d.ProfileChecked(ctx, "did:plc:alice"); err != nil || !ok {
		t.Errorf("data lost on re-open: %v %v", ok, err)
	}
}

func TestBrokenMigrationRollsBackAndNamesFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "appview.sqlite")
	good := migrationFile("first", "CREATE TABLE one (x INTEGER);")
	fsys := fstest.MapFS{
		"0001_one.yaml": good,
		// The first statement is valid; the second is not. Neither may stay.
		"0002_broken.yaml": migrationFile("broken", "CREATE TABLE two (x INTEGER);\nCREATE TABLE three (;"),
	}
	_, err := open(ctx, path, fsys)
	if err == nil {
		t.Fatal("broken migration applied without error")
	}
	if !strings.Contains(err.Error(), "0002_broken.yaml") {
		t.Errorf("error does not name the file: %v", err)
	}

	d, err := open(ctx, path, fstest.MapFS{"0001_one.yaml": good})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !tableExists(t, d, "one") {
		t.Error("the good migration before the broken one was lost")
	}
	if tableExists(t, d, "two") {
		t.Error("table two survived the rolled-back migration")
	}
	if got := appliedRows(t, d); len(got) != 1 || got[0].version != 1 {
		t.Errorf("schema_migrations = %+v, want only 0001", got)
	}
}

func TestRefusesDowngrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "appview.sqlite")
	one := migrationFile("first", "CREATE TABLE one (x INTEGER);")
	d, err := open(ctx, path, fstest.MapFS{
		"0001_one.yaml": one,
		"0002_two.yaml": migrationFile("second", "CREATE TABLE two (x INTEGER);"),
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()

	_, err = open(ctx, path, fstest.MapFS{"0001_one.yaml": one})
	if !errors.Is(err, ErrUnknownMigration) || !strings.Contains(err.Error(), "0002_two") {
		t.Errorf("older binary: err = %v, want ErrUnknownMigration naming 0002_two", err)
	}
	_, err = open(ctx, path, fstest.MapFS{
		"0001_one.yaml":     one,
		"0002_renamed.yaml": migrationFile("second", "CREATE TABLE two (x INTEGER);"),
	})
	if !errors.Is(err, ErrUnknownMigration) {
		t.Errorf("renamed migration: err = %v, want ErrUnknownMigration", err)
	}
}

func TestRefusesMigrationInsertedBeforeApplied(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "appview.sqlite")
	one := migrationFile("first", "CREATE TABLE one (x INTEGER);")
	three := migrationFile("third", "CREATE TABLE three (x INTEGER);")
	d, err := open(ctx, path, fstest.MapFS{"0001_one.yaml": one, "0003_three.yaml": three})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = open(ctx, path, fstest.MapFS{
		"0001_one.yaml":   one,
		"0002_late.yaml":  migrationFile("late", "CREATE TABLE late (x INTEGER);"),
		"0003_three.yaml": three,
	})
	if !errors.Is(err, ErrBadMigration) || !strings.Contains(err.Error(), "0002_late.yaml") {
		t.Errorf("err = %v, want ErrBadMigration naming 0002_late.yaml", err)
	}
}

func TestBadMigrationFiles(t *testing.T) {
	ok := migrationFile("ok", "CREATE TABLE one (x INTEGER);")
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"bad name", fstest.MapFS{"1_one.yaml": ok}, "1_one.yaml"},
		{"upper case name", fstest.MapFS{"0001_One.yaml": ok}, "0001_One.yaml"},
		{"version zero", fstest.MapFS{"0000_zero.yaml": ok}, "0000_zero.yaml"},
		{"duplicate version", fstest.MapFS{"0001_a.yaml": ok, "0001_b.yaml": ok}, "0001_b.yaml"},
		{"unknown key", fstest.MapFS{"0001_one.yaml": {Data: []byte("description: x\nquery: SELECT 1\ndown: DROP TABLE x\n")}}, "0001_one.yaml"},
		{"missing query", fstest.MapFS{"0001_one.yaml": {Data: []byte("description: x\n")}}, "0001_one.yaml"},
		{"not yaml", fstest.MapFS{"0001_one.yaml": {Data: []byte("description: [\n")}}, "0001_one.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), tc.fsys)
			if !errors.Is(err, ErrBadMigration) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrBadMigration naming %s", err, tc.want)
			}
		})
	}
}
