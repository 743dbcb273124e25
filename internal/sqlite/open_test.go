package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func open(t *testing.T, path string, opts Options) *sql.DB {
	t.Helper()
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type pragmas struct {
	journal        string
	busy, sync, fk int
}

func readPragmas(t *testing.T, c interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) pragmas {
	t.Helper()
	ctx := context.Background()
	var p pragmas
	for q, dst := range map[string]any{
		"PRAGMA journal_mode": &p.journal, "PRAGMA busy_timeout": &p.busy,
		"PRAGMA synchronous": &p.sync, "PRAGMA foreign_keys": &p.fk,
	} {
		if err := c.QueryRowContext(ctx, q).Scan(dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return p
}

// The pragmas are set on every pooled connection, not only the first.
func TestPragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	tests := map[string]struct {
		opts Options
		want pragmas
	}{
		"defaults": {Options{}, pragmas{journal: "wal", busy: 5000, sync: 2, fk: 0}},
		"appview": {Options{ForeignKeys: true, ImmediateTx: true, BusyTimeout: 2 * time.Second},
			pragmas{journal: "wal", busy: 2000, sync: 2, fk: 1}},
		"normal": {Options{Synchronous: SynchronousNormal}, pragmas{journal: "wal", busy: 5000, sync: 1, fk: 0}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			db := open(t, filepath.Join(t.TempDir(), "x.sqlite"), tc.opts)
			var conns []*sql.Conn
			for range 3 {
				c, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns = append(conns, c)
			}
			for i, c := range conns {
				if got := readPragmas(t, c); got != tc.want {
					t.Errorf("connection %d: %+v, want %+v", i, got, tc.want)
				}
			}
		})
	}
}

func TestFileCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "x.sqlite")
	db := open(t, path, Options{})
	if _, err := db.Exec(`CREATE TABLE t (v TEXT)`); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != want {
			t.Errorf("%s mode %o, want %o", p, perm, want)
		}
	}
	// An existing file keeps its mode: the operator may have chosen it.
	other := filepath.Join(dir, "y.sqlite")
	if err := os.WriteFile(other, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(other, 0o640); err != nil {
		t.Fatal(err)
	}
	open(t, other, Options{})
	if info, _ := os.Stat(other); info.Mode().Perm() != 0o640 {
		t.Errorf("existing file mode changed to %o", info.Mode().Perm())
	}
}

// With ImmediateTx a second writer cannot even begin while the first holds
// the write lock; without it BEGIN takes no lock.
func TestImmediateTx(t *testing.T) {
	ctx := context.Background()
	for _, immediate := range []bool{true, false} {
		db := open(t, filepath.Join(t.TempDir(), "x.sqlite"), Options{ImmediateTx: immediate, BusyTimeout: 20 * time.Millisecond})
		first, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		second, err := db.BeginTx(ctx, nil)
		if immediate && err == nil {
			second.Rollback()
			t.Error("ImmediateTx: a second transaction began while the first held the write lock")
		}
		if !immediate {
			if err != nil {
				t.Errorf("deferred transactions: second BEGIN failed: %v", err)
			} else {
				second.Rollback()
			}
		}
		first.Rollback()
	}
}

func TestOptionsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.sqlite")
	if _, err := Open(context.Background(), path, Options{Synchronous: "OFF"}); err == nil {
		t.Error("synchronous OFF accepted")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a refused Open created the file: %v", err)
	}
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), filepath.Join(blocker, "x.sqlite"), Options{}); err == nil {
		t.Error("a database under a regular file opened")
	}
}
