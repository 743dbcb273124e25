// Package db is the AppView's database: opening it, applying the numbered
// migrations embedded from migrations/, and the typed queries the other
// AppView packages call.
//
// It runs on SQLite (the default: a file in the data directory, opened
// through internal/sqlite — WAL, busy timeout, foreign keys — the same way
// the hold opens its databases) or on PostgreSQL (database.url, opened
// through internal/postgres, which accepts the same ? placeholders), and
// Engine says which. Every migration has a text for each engine. On
// PostgreSQL several AppViews share the database: RunExclusive runs a job
// (the Jetstream consumer) on one of them at a time and Lock serialises
// work across them (OAuth refreshes). See docs/database.md.
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
