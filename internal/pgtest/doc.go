// Package pgtest runs a throwaway PostgreSQL server for tests: one server
// per test binary, a fresh database per test.
//
// The server is Debian's (apt-get install postgresql; test/stack/install.sh
// installs it for make test), found under /usr/lib/postgresql/<version>/bin,
// on PATH, or in $ATCR_POSTGRES_BIN. It is initdb'd into a temporary
// directory and listens only on a unix socket in that directory (no TCP:
// unit tests never touch the network), with fsync off — the data is thrown
// away — and the C.UTF-8 locale docs/database.md recommends (code-point
// order like SQLite's, Unicode-aware word splitting for search). PostgreSQL refuses to run as root, and CI runs as root: then the
// server runs as the "postgres" user (which the Debian package creates; else
// "nobody"), which owns the directory.
//
// Use:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.URL(t) // postgres://atcr@/t3?host=/tmp/atcr-pgtest-…
//	}
//
// Without PostgreSQL, URL skips the test — or fails it when
// ATCR_REQUIRE_POSTGRES=1 (make unit sets it, so CI cannot skip silently).
package pgtest
