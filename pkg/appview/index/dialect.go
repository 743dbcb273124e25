package index

import "atcr.io/pkg/appview/db"

// The few spellings of the index's SQL that differ between the engines
// (search's are in search.go). Everything else is one text for both.

// didListTable is a table expression of the strings of a JSON array
// argument (one ?), as alias d with the column value.
func (s *Store) didListTable() string {
	if s.engine == db.EnginePostgres {
		return `json_array_elements_text(CAST(? AS text)::json) AS d(value)`
	}
	return `json_each(?) AS d`
}

// orderedJoin joins in the written order: SQLite's CROSS JOIN is its
// planner's "keep this order" (and takes an ON clause); PostgreSQL plans
// joins itself and knows CROSS JOIN only without ON.
func (s *Store) orderedJoin() string {
	if s.engine == db.EnginePostgres {
		return "JOIN"
	}
	return "CROSS JOIN"
}

// searchRowUpsert ends the INSERT of a search row: on PostgreSQL another
// writer may insert the same row at the same moment (its DELETE ran before
// that row was committed), so the row is overwritten; SQLite's FTS5 tables
// take no upsert, and SQLite has one writer at a time anyway.
func (s *Store) searchRowUpsert(set string) string {
	if s.engine == db.EnginePostgres {
		return " ON CONFLICT (rowid) DO UPDATE SET " + set
	}
	return ""
}
