package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	// The one SQLite driver of the project (see the package comment).
	_ "github.com/glebarez/go-sqlite"
)

// DefaultBusyTimeout is how long a statement waits for another
// connection's write lock before failing with SQLITE_BUSY, when
// Options.BusyTimeout is zero.
const DefaultBusyTimeout = 5 * time.Second

// Values of Options.Synchronous.
const (
	// SynchronousFull syncs the WAL on every commit: an acknowledged write
	// survives power loss. The default.
	SynchronousFull = "FULL"
	// SynchronousNormal syncs only at checkpoints: a commit can be lost on
	// power loss (never corrupted). For data that can be rebuilt.
	SynchronousNormal = "NORMAL"
)

// Options configures Open. The zero value is WAL, DefaultBusyTimeout and
// synchronous FULL, without foreign keys or immediate transactions.
type Options struct {
	// Synchronous is SynchronousFull (also when empty) or SynchronousNormal.
	Synchronous string
	// BusyTimeout defaults to DefaultBusyTimeout.
	BusyTimeout time.Duration
	// ForeignKeys enforces FOREIGN KEY constraints.
	ForeignKeys bool
	// ImmediateTx makes BEGIN take the write lock (_txlock=immediate).
	ImmediateTx bool
}

// Open opens (creating if needed) the database file at path and checks that
// it can be used. The caller closes the pool.
func Open(ctx context.Context, path string, opts Options) (*sql.DB, error) {
	dsn, err := opts.dsn(path)
	if err != nil {
		return nil, err
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// dsn builds the glebarez DSN: pragmas in the query apply to every new
// connection of the pool.
func (o Options) dsn(path string) (string, error) {
	sync := o.Synchronous
	switch sync {
	case "":
		sync = SynchronousFull
	case SynchronousFull, SynchronousNormal:
	default:
		return "", fmt.Errorf("open %s: synchronous %q: want %s or %s", path, sync, SynchronousFull, SynchronousNormal)
	}
	busy := o.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	if o.ForeignKeys {
		q.Add("_pragma", "foreign_keys(1)")
	}
	q.Add("_pragma", "synchronous("+sync+")")
	if o.ImmediateTx {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode(), nil
}

// createPrivate makes the parent directory (0700) and the database file
// (0600) before SQLite does; an existing file keeps its mode.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create directory of %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return f.Close()
}
