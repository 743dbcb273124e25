package db

import (
	"context"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"atcr.io/migrations"
)

// migrationsUpTo is the shipped migration set cut after version last, as a
// binary of that time would have shipped it.
func migrationsUpTo(t *testing.T, last int) fstest.MapFS {
	t.Helper()
	all, err := loadMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, m := range all {
		if m.Version > last {
			continue
		}
		raw, err := fs.ReadFile(migrations.FS, m.File)
		if err != nil {
			t.Fatal(err)
		}
		out[m.File] = &fstest.MapFile{Data: raw}
	}
	return out
}

// schemaEntry is one sqlite_schema row with its SQL normalised: whitespace
// collapsed and the quotes ALTER TABLE ... RENAME adds dropped, so only
// real differences compare unequal.
type schemaEntry struct{ kind, name, table, sql string }

var spaces = regexp.MustCompile(`\s+`)

func normalizedSchema(t *testing.T, d *DB) map[string]schemaEntry {
	t.Helper()
	rows, err := d.sql.Query(`SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]schemaEntry{}
	for rows.Next() {
		var e schemaEntry
		if err := rows.Scan(&e.kind, &e.name, &e.table, &e.sql); err != nil {
			t.Fatal(err)
		}
		e.sql = strings.TrimSpace(spaces.ReplaceAllString(strings.ReplaceAll(e.sql, `"`, ""), " "))
		out[e.name] = e
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// captainRow is hold_captain_records as of 0010, plus successor.
type captainRow struct {
	hold, owner            string
	public, allowAll       int
	deployed               int64
	region, provider, succ string
	updated                int64
}

// A database at 0010 holding rows reaches 0011 with every row intact and
// successor empty, and has the schema a fresh database gets.
func TestCaptainSuccessorMigrationKeepsRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "appview.sqlite")
	old, err := open(ctx, path, migrationsUpTo(t, 10))
	if err != nil {
		t.Fatal(err)
	}
	if tableHasColumn(t, old, "hold_captain_records", "successor") {
		t.Fatal("successor exists before 0011: the test does not test the rebuild")
	}
	want := []captainRow{
		{"did:web:hold1.example.com", "did:plc:alice", 1, 0, 1700000000, "us-east-1", "aws", "", 1700000100},
		{"did:web:hold2.example.com", "did:plc:bob", 0, 1, 1700000200, "", "", "", 1700000300},
		{"did:plc:holdthree", "did:plc:alice", 0, 0, 0, "eu", "fly.io", "", 1},
	}
	for _, r := range want {
		if _, err := old.sql.Exec(`INSERT INTO hold_captain_records
			(hold_did, owner_did, public, allow_all_crew, deployed_at, region, provider, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.hold, r.owner, r.public, r.allowAll, r.deployed, r.region, r.provider, r.updated); err != nil {
			t.Fatal(err)
		}
	}
	// Rows of other tables must not be touched by the rebuild.
	if _, err := old.sql.Exec(`INSERT INTO hold_crew (hold_did, rkey, member_did, role, added_at)
		VALUES ('did:web:hold1.example.com', 'm1', 'did:plc:bob', 'write', 5)`); err != nil {
		t.Fatal(err)
	}
	if _, err := old.sql.Exec(`INSERT INTO repository_stats (did, repository, pull_count) VALUES ('did:plc:alice', 'app', 42)`); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	migrated, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer migrated.Close()
	got := map[string]captainRow{}
	rows, err := migrated.sql.Query(`SELECT hold_did, owner_did, public, allow_all_crew, deployed_at, region, provider, successor, updated_at FROM hold_captain_records`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r captainRow
		if err := rows.Scan(&r.hold, &r.owner, &r.public, &r.allowAll, &r.deployed, &r.region, &r.provider, &r.succ, &r.updated); err != nil {
			t.Fatal(err)
		}
		got[r.hold] = r
	}
	rows.Close()
	if len(got) != len(want) {
		t.Errorf("%d captain rows after 0011, want %d", len(got), len(want))
	}
	for _, w := range want {
		if got[w.hold] != w {
			t.Errorf("row %s = %+v, want %+v", w.hold, got[w.hold], w)
		}
	}
	var crew, pulls int
	if err := migrated.sql.QueryRow(`SELECT count(*) FROM hold_crew`).Scan(&crew); err != nil || crew != 1 {
		t.Errorf("hold_crew rows = %d (%v), want 1", crew, err)
	}
	if err := migrated.sql.QueryRow(`SELECT pull_count FROM repository_stats`).Scan(&pulls); err != nil || pulls != 42 {
		t.Errorf("pull_count = %d (%v), want 42", pulls, err)
	}

	// The constraint the rebuild exists for.
	for _, bad := range []string{"not-a-did", "did:web:hold1.example.com"} {
		if _, err := migrated.sql.Exec(`UPDATE hold_captain_records SET successor = ? WHERE hold_did = 'did:web:hold1.example.com'`, bad); err == nil {
			t.Errorf("successor %q accepted", bad)
		}
	}
	if _, err := migrated.sql.Exec(`UPDATE hold_captain_records SET successor = 'did:web:hold2.example.com' WHERE hold_did = 'did:web:hold1.example.com'`); err != nil {
		t.Errorf("valid successor refused: %v", err)
	}
	var check string
	if err := migrated.sql.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q (%v)", check, err)
	}

	fresh, err := Open(ctx, filepath.Join(t.TempDir(), "fresh.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	a, b := normalizedSchema(t, migrated), normalizedSchema(t, fresh)
	for name, e := range b {
		if a[name] != e {
			t.Errorf("schema of %s differs:\nmigrated: %+v\nfresh:    %+v", name, a[name], e)
		}
	}
	for name := range a {
		if _, ok := b[name]; !ok {
			t.Errorf("migrated database has %s, a fresh one does not", name)
		}
	}
	if _, ok := a["hold_captain_records_successor"]; !ok {
		t.Error("index hold_captain_records_successor missing")
	}
	if _, ok := a["hold_captain_records_owner"]; !ok {
		t.Error("index hold_captain_records_owner was not recreated")
	}
	if _, ok := a["hold_captain_records_new"]; ok {
		t.Error("the rebuild's temporary table survived")
	}
}

func tableHasColumn(t *testing.T, d *DB, table, column string) bool {
	t.Helper()
	var n int
	if err := d.sql.QueryRow(`SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// Every ordinary table of the index is STRICT: a wrongly typed value is an
// error, not silently stored. (FTS5 virtual tables cannot be.)
func TestIndexTablesAreStrict(t *testing.T) {
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "appview.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows, err := d.sql.Query(`SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%search%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name string
		var strict bool
		if err := rows.Scan(&name, &strict); err != nil {
			t.Fatal(err)
		}
		n++
		if !strict {
			t.Errorf("table %s is not STRICT", name)
		}
	}
	if n < 20 {
		t.Errorf("only %d tables checked", n)
	}
}
