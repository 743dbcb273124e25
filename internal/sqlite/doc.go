// Package sqlite opens the project's SQLite databases (the AppView
// database, the hold's repo and its upload sessions) with one set of
// connection settings, so every database gets them the same way:
//
//   - the file is created 0600 (its directory 0700) before SQLite opens it,
//     because SQLite gives the -wal and -shm files the main file's mode and
//     these files hold session tokens and signed repo data;
//   - WAL journal, a busy timeout, and an explicit synchronous level, set
//     as DSN pragmas so that every pooled connection has them, not only the
//     first;
//   - optionally foreign keys and _txlock=immediate (write transactions take
//     the write lock at BEGIN, so two writers queue on the busy timeout
//     instead of one failing when its read lock cannot upgrade).
//
// The driver is github.com/glebarez/go-sqlite (driver name "sqlite", pure
// Go). It is the project's one SQLite driver: the hold also links grype,
// which registers "sqlite" through glebarez, and a second driver
// (modernc.org/sqlite directly, mattn/go-sqlite3) would panic at start-up
// with "Register called twice" (internal/buildcheck enforces this). Open
// every database through this package rather than importing a driver.
package sqlite
