// Package db is the AppView's SQLite database: opening it (WAL, busy
// timeout, foreign keys), applying the numbered migrations embedded from
// migrations/, and the typed queries the other AppView packages call. No SQL
// lives outside this package.
//
// The file is opened through internal/sqlite (github.com/glebarez/go-sqlite,
// pure Go), the same way the hold opens its databases, so the project links
// one SQLite driver.
//
// What is stored here that matters: PDS sessions (the tokens an app-password
// login produced, refreshed in place), which accounts have had their sailor
// profile checked, blob tombstones (blobs unlinked from one repository by
// a blob DELETE; they exist nowhere else) and the pull/push counters
// (repository_stats). The index of the network (migrations 0007–0012:
// users, repositories, manifests, tags, pages, stars, hold captain and crew
// records, FTS5 search, the Jetstream cursor) is a cache that can be rebuilt
// from PDSes and holds; pkg/appview/index owns its queries, through SQL.
package db
