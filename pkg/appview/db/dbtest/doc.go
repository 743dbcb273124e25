// Package dbtest runs the AppView's store tests on both database engines:
// a subtest per engine (sqlite, postgres), each with a fresh, migrated
// database. PostgreSQL is a throwaway server per test binary
// (internal/pgtest), so a package using this calls Main from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		dbtest.Run(t, func(t *testing.T, engine db.Engine) {
//			d := dbtest.Open(t, engine)
//			…
//		})
//	}
//
// Without PostgreSQL installed the postgres subtests skip, or fail with
// ATCR_REQUIRE_POSTGRES=1 (make unit).
package dbtest
