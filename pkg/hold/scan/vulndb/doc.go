// Package vulndb is the hold's Grype vulnerability database: a schema-6
// database in one directory (scanner.db_dir), laid out as grype's own
// cache directory is (<dir>/6/vulnerability.db plus import.json), so the
// grype CLI reads the same directory through GRYPE_DB_CACHE_DIR.
//
// The database is filled by an operator (Import, behind `atcr-hold scanner
// db import <archive>`, which is grype's curator import) or, when
// scanner.db_update_url is set, by Update (grype's distribution client).
// Many holds run without internet, so nothing here ever downloads on its
// own.
//
// Scanners take the open database with Acquire and give it back with
// Release, so an import or update can swap the database while scans run: the
// old reader is closed when its last scan releases it. Acquire notices a
// database another process imported (the file changed on disk) and reopens
// it. Whenever the database that Acquire serves changes its build time,
// the functions given to OnChange are called, so the job side can rescan
// manifests. Without a database Acquire returns ErrNoDatabase, which a
// scanner records as skipped: "no vulnerability database".
package vulndb
