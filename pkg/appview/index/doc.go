// Package index is the AppView's index of the network: the io.atcr.*
// records (and app.bsky.actor.profile) of every account, kept in the
// AppView database (tables of migrations 0007–0012) so the web UI can list,
// search and count without reading PDSes.
//
// Writes are keyed by the record that causes them, (did, collection, rkey):
// Put creates or replaces a record's rows and Delete removes them, so the
// same Jetstream event applied twice leaves the same rows, and a backfill may
// re-read a repo after DeleteDID; the Jetstream sink's batches skip a put
// of a record already indexed at the same CID (the echo of this AppView's
// own write, indexed when it was written). Apply does a batch of events and the
// Jetstream cursor in one transaction; one commit per event would cap the
// indexer at the disk's fsync rate. Every record is checked against our
// lexicons (pkg/atproto/schema) and the OCI grammars (pkg/oci) before it is
// indexed; a record that fails returns an *InvalidRecordError, which the
// consumer counts and skips.
//
// Repositories are derived: a repository exists while a manifest or tag
// record names it. Its full-text search row (FTS5 on SQLite, a weighted
// tsvector on PostgreSQL; owner handle, name, description) and its
// annotations are recomputed by the store in the transaction that changes
// it.
//
// Both engines run the same statements (dialect.go and search.go hold the
// few that differ); docs/database.md has the rules.
//
// Pull and push counts are the one thing here that exists nowhere else:
// CountPull and CountPush add to an in-memory map (one short mutex hold, no
// I/O on the caller's path) that a background goroutine writes every
// FlushInterval or FlushEvents events, and Close writes what is left.
// DeleteDID keeps them.
//
// One file per resource: manifests, tags, repositories (derivation and
// search rows), repo pages, stars, users, holds, search, feed (home page
// and user page lists), repopage (the repository page), manifestdetail
// (layers, platforms, referrers), counters, cursor, deletedid, known (the
// DIDs a rebuild re-reads, and UnseenDIDs, those without rows), export
// (the rows an account owns, for its data export); record and semantics
// validate, write dispatches.
//
// Feeding it: jetstreamsink is the Jetstream consumer's handler and cursor
// store (batches of commits into Apply with their cursor, a per-event
// fallback when a batch's transaction fails), and firstseen tells its
// DIDWatcher of the accounts it meets for the first time (which
// pkg/appview/backfill's Scheduler then reads whole); ownwrites is what
// pkg/appview/storage calls after the AppView's own record writes
// (storage.Indexer); pkg/appview/backfill re-reads verified repositories.
//
// SQLite notes. The glebarez/modernc driver parses every statement on every
// call (its prepared statements keep only the text), so the writers keep
// the number of statements per event small and write children with one
// multi-row INSERT. The tables the queries reach by repository (manifests,
// tags, repo_pages) keep a rowid: as WITHOUT ROWID tables keyed (did,
// rkey), SQLite without ANALYZE statistics scanned all of an owner's rows
// by that key instead of using the repository indexes.
package index
