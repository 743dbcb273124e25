package db

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Sentinel errors of the migration runner, returned wrapped.
var (
	// ErrUnknownMigration: the database records a migration this binary
	// does not have (it was written by a newer binary, or the file was
	// renamed). Running on would use a schema the code does not expect.
	ErrUnknownMigration = errors.New("database has a migration this binary does not know")
	// ErrBadMigration: a migration file is misnamed, malformed, duplicated
	// or out of order.
	ErrBadMigration = errors.New("bad migration file")
)

// migrationName is the file name grammar: a four-digit version and a
// snake_case name.
var migrationName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.yaml$`)

// migration is one parsed NNNN_name.yaml file.
type migration struct {
	Version     int    `yaml:"-"`
	Name        string `yaml:"-"`
	File        string `yaml:"-"`
	Description string `yaml:"description"`
	// Query is the SQLite text, Postgres the PostgreSQL text. Both are
	// required: a migration for one engine only would leave the other's
	// schema behind (the schema test compares the two).
	Query    string `yaml:"query"`
	Postgres string `yaml:"postgres"`
}

// text is the migration's SQL for engine.
func (m migration) text(engine Engine) string {
	if engine == EnginePostgres {
		return m.Postgres
	}
	return m.Query
}

// createMigrationsTable is the bookkeeping table, per engine.
var createMigrationsTable = map[Engine]string{
	EngineSQLite: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at INTEGER NOT NULL
) STRICT`,
	EnginePostgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`,
}

// migrateLockKey is the PostgreSQL advisory lock taken while migrating, so
// that AppViews starting together do not apply a migration twice.
const migrateLockKey int64 = 0x6174_6372_0001 // "atcr", 1

// querier is what migrate needs of a pool or of one connection.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// migrate applies the pending migrations of fsys in version order, each in
// its own transaction together with its schema_migrations row, so a failing
// migration leaves no trace and names its file.
func migrate(ctx context.Context, sqlDB *sql.DB, engine Engine, fsys fs.FS) error {
	all, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	if engine != EnginePostgres {
		// SQLite: one process owns the file.
		return migrateOn(ctx, sqlDB, engine, all)
	}
	// PostgreSQL: several AppViews may start at once. The lock is a
	// session lock, so it is taken and released on one connection, the
	// one the migrations run on.
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, migrateLockKey); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, migrateLockKey)
	return migrateOn(ctx, conn, engine, all)
}

// migrateOn applies the pending migrations of all on q.
func migrateOn(ctx context.Context, q querier, engine Engine, all []migration) error {
	if _, err := q.ExecContext(ctx, createMigrationsTable[engine]); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, q)
	if err != nil {
		return err
	}
	known := make(map[int]migration, len(all))
	for _, m := range all {
		known[m.Version] = m
	}
	latest := 0
	for version, name := range applied {
		m, ok := known[version]
		if !ok || m.Name != name {
			return fmt.Errorf("%w: %04d_%s (newer binary, or a migration was renamed)", ErrUnknownMigration, version, name)
		}
		latest = max(latest, version)
	}
	for _, m := range all {
		if _, done := applied[m.Version]; done {
			continue
		}
		if m.Version < latest {
			return fmt.Errorf("%w: %s is older than the applied %04d; migrations are append-only", ErrBadMigration, m.File, latest)
		}
		if err := apply(ctx, q, engine, m); err != nil {
			return err
		}
	}
	return nil
}

// loadMigrations reads and validates every *.yaml file of fsys, sorted by version.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, file := range files {
		match := migrationName.FindStringSubmatch(file)
		if match == nil {
			return nil, fmt.Errorf("%w: %s: name must be NNNN_snake_name.yaml", ErrBadMigration, file)
		}
		version, _ := strconv.Atoi(match[1]) // four digits: cannot fail
		if version == 0 {
			return nil, fmt.Errorf("%w: %s: versions start at 0001", ErrBadMigration, file)
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("%w: %s and %s share version %04d", ErrBadMigration, other, file, version)
		}
		seen[version] = file
		raw, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", file, err)
		}
		m := migration{Version: version, Name: match[2], File: file}
		if err := yaml.NewDecoder(bytes.NewReader(raw), yaml.DisallowUnknownField()).Decode(&m); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadMigration, file, err)
		}
		if strings.TrimSpace(m.Description) == "" || strings.TrimSpace(m.Query) == "" {
			return nil, fmt.Errorf("%w: %s: description and query are required", ErrBadMigration, file)
		}
		if strings.TrimSpace(m.Postgres) == "" {
			return nil, fmt.Errorf("%w: %s: postgres (the PostgreSQL text) is required: every migration exists for both engines", ErrBadMigration, file)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b migration) int { return a.Version - b.Version })
	return out, nil
}

// appliedMigrations returns version → name of every recorded migration.
func appliedMigrations(ctx context.Context, q querier) (map[int]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, name FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]string{}
	for rows.Next() {
		var version int
		var name string
		if err := rows.Scan(&version, &name); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[version] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}

// apply runs one migration and records it, atomically.
func apply(ctx context.Context, q querier, engine Engine, m migration) error {
	tx, err := q.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.File, err)
	}
	defer tx.Rollback() // no-op after Commit
	if _, err := tx.ExecContext(ctx, m.text(engine)); err != nil {
		return fmt.Errorf("migration %s: %w", m.File, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().Unix()); err != nil {
		return fmt.Errorf("migration %s: record: %w", m.File, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.File, err)
	}
	slog.InfoContext(ctx, "db: applied migration", "engine", engine, "file", m.File, "description", m.Description)
	return nil
}
