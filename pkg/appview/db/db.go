package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"atcr.io/internal/postgres"
	"atcr.io/internal/sqlite"
	"atcr.io/migrations"
)

// ErrNotFound is returned (wrapped) by lookups that match no row.
var ErrNotFound = errors.New("not found")

// busyTimeout is how long a statement waits for another connection's write
// lock before failing with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Engine is the database engine behind a DB.
type Engine string

// The two engines.
const (
	// EngineSQLite is the default: one file in the data directory.
	EngineSQLite Engine = "sqlite"
	// EnginePostgres is a PostgreSQL database several AppViews can share.
	EnginePostgres Engine = "postgres"
)

// DB is the AppView database. It is safe for concurrent use.
type DB struct {
	sql    *sql.DB
	engine Engine
	// name says which database in errors: the file, or the URL without
	// its password.
	name string
}

// OpenConfigured opens the database the configuration names: PostgreSQL
// at databaseURL (database.url) when it is set, else the SQLite file at
// sqlitePath.
func OpenConfigured(ctx context.Context, databaseURL, sqlitePath string) (*DB, error) {
	if databaseURL != "" {
		return OpenPostgres(ctx, databaseURL)
	}
	return Open(ctx, sqlitePath)
}

// OpenPostgres connects to the PostgreSQL database at url (postgres:// or
// postgresql://) and applies every pending migration, like Open. Several
// AppViews may open one database at the same time: the migrations run
// under an advisory lock, so one of them applies each.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	return openPostgres(ctx, url, migrations.FS)
}

// openPostgres is OpenPostgres with the migration set as a parameter.
func openPostgres(ctx context.Context, url string, fsys fs.FS) (*DB, error) {
	sqlDB, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	name := postgres.Redact(url)
	if err := migrate(ctx, sqlDB, EnginePostgres, fsys); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate %s: %w", name, err)
	}
	return &DB{sql: sqlDB, engine: EnginePostgres, name: name}, nil
}

// Open opens (creating if needed, 0600: it holds PDS refresh tokens) the
// database file at path through internal/sqlite and applies every pending
// migration from migrations/. It refuses a database that has a migration
// this binary does not know (a downgrade) with ErrUnknownMigration.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, migrations.FS)
}

// open is Open with the migration set as a parameter, for tests.
func open(ctx context.Context, path string, fsys fs.FS) (*DB, error) {
	sqlDB, err := sqlite.Open(ctx, path, sqlite.Options{
		// FULL: a refreshed PDS session must survive power loss, because
		// the PDS has already rotated the refresh token it replaced.
		Synchronous: sqlite.SynchronousFull,
		BusyTimeout: busyTimeout,
		ForeignKeys: true,
		// Write transactions take the write lock at BEGIN, so two writers
		// queue on busy_timeout instead of failing when a read lock cannot
		// upgrade.
		ImmediateTx: true,
	})
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, sqlDB, EngineSQLite, fsys); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return &DB{sql: sqlDB, engine: EngineSQLite, name: path}, nil
}

// Close closes the database.
func (d *DB) Close() error {
	if err := d.sql.Close(); err != nil {
		return fmt.Errorf("close %s: %w", d.name, err)
	}
	return nil
}

// unix converts a time to the unix seconds stored in INTEGER columns; the
// zero time is stored as 0.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// fromUnix is the inverse of unix.
func fromUnix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// Engine reports which engine the database runs on, for the few queries
// whose text differs (search).
func (d *DB) Engine() Engine { return d.engine }

// SQL returns the connection pool, for the packages whose tables live in this
// database but whose queries stay beside their logic (the OAuth client store,
// the device flow and the web sessions). One pool per process means one set of
// connection settings and one writer queue.
//
// On PostgreSQL the pool accepts SQLite's ? placeholders and 0/1 for
// booleans (internal/postgres), so one query text serves both engines.
func (d *DB) SQL() *sql.DB { return d.sql }
