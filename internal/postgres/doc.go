// Package postgres opens the AppView's PostgreSQL database as a
// database/sql pool, so the code written for SQLite runs on it unchanged
// except where the two engines' SQL really differs.
//
// The driver is pgx (github.com/jackc/pgx/v5/stdlib) behind database/sql,
// not pgxpool: every query of the AppView is written against *sql.DB,
// *sql.Tx and sql.ErrNoRows, and keeping that one API keeps one copy of
// the code for both engines. What the two engines disagree on is handled
// here, once, instead of at every call site:
//
//   - placeholders: the queries use SQLite's ? and ?NNN; the connection
//     rewrites them to $N before PostgreSQL sees them (Rebind), skipping
//     string literals, quoted identifiers and comments. A query without
//     arguments is passed as it is (migrations, which may hold ? in text);
//   - booleans: the schema stores flags as 0/1 integers on both engines
//     (SQLite has no boolean type), so a Go bool argument is sent as 0 or 1;
//   - NUL: PostgreSQL's text cannot hold U+0000, so a string argument's NUL
//     characters are sent as U+FFFD (a record from the network may carry
//     one; SQLite would store it).
//
// Open refuses anything but a postgres:// or postgresql:// URL and never
// puts the password of the URL into an error (Redact).
//
// Leader runs a function on one process of several sharing a database: the
// holder of a session-level advisory lock on a dedicated connection.
package postgres
