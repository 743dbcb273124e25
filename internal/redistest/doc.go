// Package redistest gives tests a real Redis: the first call in a test
// binary starts Debian's redis-server on a unix socket in a temporary
// directory (no persistence, killed with the test process), and every
// test gets a database of its own, empty.
//
// Without redis-server the tests skip, or fail when ATCR_REQUIRE_REDIS=1
// (make test sets it and installs the package through
// test/stack/install.sh).
package redistest
