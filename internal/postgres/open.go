package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Pool bounds. PostgreSQL forks a process per connection (about 10 MiB
// each), so the pool is kept small; every AppView of a cluster has its own.
const (
	maxOpenConns    = 20
	maxIdleConns    = 10
	connMaxIdleTime = 5 * time.Minute
)

// ErrBadURL is returned (wrapped) by ParseURL and Open for a database URL
// that is not a usable postgres:// URL.
var ErrBadURL = errors.New("not a PostgreSQL URL")

// IsURL reports whether raw names PostgreSQL (postgres:// or
// postgresql://), without validating the rest.
func IsURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql")
}

// ParseURL validates a postgres:// or postgresql:// URL and returns pgx's
// connection settings. Errors name the URL with its password replaced
// (Redact) and never quote the password.
func ParseURL(raw string) (*pgx.ConnConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the input; say only what is wrong.
		return nil, fmt.Errorf("%w: cannot parse the URL (check its escaping)", ErrBadURL)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("%w: %s: scheme must be postgres:// or postgresql://", ErrBadURL, Redact(raw))
	}
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		// pgconn's ParseConfigError redacts the password itself; its
		// cause alone says what is wrong without repeating the URL.
		if cause := errors.Unwrap(err); cause != nil {
			err = cause
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrBadURL, Redact(raw), err)
	}
	return cfg, nil
}

// Redact returns raw with its password (in the user info or a password
// query parameter) replaced by xxxxx, for logs and errors.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Open connects to the PostgreSQL database at rawURL and checks that it
// answers. Queries written with SQLite's placeholders work on the pool
// (see the package comment). The caller closes the pool.
func Open(ctx context.Context, rawURL string) (*sql.DB, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector{inner: stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(rawURL), err)
	}
	return db, nil
}

// connector wraps pgx's connector so that each connection rebinds.
type connector struct{ inner driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &rebindConn{Conn: conn.(*stdlib.Conn)}, nil
}

func (c connector) Driver() driver.Driver { return c.inner.Driver() }

// rebindConn is pgx's connection with the query text rebound and the
// arguments adapted (pgArgs). Every other method (transactions, ping,
// session reset, value checks) is pgx's own.
type rebindConn struct{ *stdlib.Conn }

func (c *rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 {
		query = Rebind(query)
	}
	return c.Conn.ExecContext(ctx, query, pgArgs(args))
}

func (c *rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) > 0 {
		query = Rebind(query)
	}
	return c.Conn.QueryContext(ctx, query, pgArgs(args))
}

func (c *rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	stmt, err := c.Conn.PrepareContext(ctx, Rebind(query))
	if err != nil {
		return nil, err
	}
	return argStmt{stmt}, nil
}

func (c *rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// argStmt is a prepared statement whose arguments are adapted (pgArgs).
type argStmt struct{ driver.Stmt }

func (s argStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, pgArgs(args))
}

func (s argStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, pgArgs(args))
}

// pgArgs returns args as PostgreSQL takes them: every bool as 1 or 0, the
// way the schema stores flags on both engines, and NUL characters in
// strings as U+FFFD, because PostgreSQL's text cannot hold NUL (SQLite's
// can, and records from the network may carry one).
func pgArgs(args []driver.NamedValue) []driver.NamedValue {
	var out []driver.NamedValue
	for i, a := range args {
		var v driver.Value
		switch x := a.Value.(type) {
		case bool:
			v = boolInt(x)
		case string:
			if !strings.Contains(x, "\x00") {
				continue
			}
			v = strings.ReplaceAll(x, "\x00", "\uFFFD")
		default:
			continue
		}
		if out == nil {
			out = slices.Clone(args)
		}
		out[i].Value = v
	}
	if out == nil {
		return args
	}
	return out
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
