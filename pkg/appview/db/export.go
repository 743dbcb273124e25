package db

import (
	"context"
	"database/sql"
	"fmt"
)

// AccountExport is what the AppView database keeps about one account
// outside the index, for the user's data export: rows of each table, by
// column name, with only the columns that are not secrets. Tokens, DPoP
// keys and session data (oauth_sessions.data, pds_sessions' JWTs), cookie
// and code hashes (web_sessions.id_hash, device_requests.device_code_hash,
// user codes), CSRF tokens and device secrets (devices' bcrypt hash and
// hint) are never selected. Devices are exported by pkg/appview/devices'
// List, which reads no secret either.
type AccountExport map[string][]map[string]any

// accountQueries are the exported tables and their non-secret columns.
var accountQueries = []struct{ table, query string }{
	{"web_sessions", `SELECT did, handle, created_at, expires_at FROM web_sessions WHERE did = ? ORDER BY created_at`},
	{"oauth_sessions", `SELECT did, requested_scopes, created_at, updated_at FROM oauth_sessions WHERE did = ? ORDER BY created_at`},
	{"pds_sessions", `SELECT did, pds_host, access_expires_at, created_at, updated_at FROM pds_sessions WHERE did = ?`},
	{"device_requests", `SELECT did, handle, client_name, remote_addr, status, created_at, expires_at FROM device_requests WHERE did = ? ORDER BY created_at`},
	{"profile_checks", `SELECT did, checked_at FROM profile_checks WHERE did = ?`},
	{"blob_tombstones", `SELECT did, repository, digest, deleted_at FROM blob_tombstones WHERE did = ? ORDER BY repository, digest`},
}

// ExportAccount returns the account rows of did (see AccountExport).
func ExportAccount(ctx context.Context, q *sql.DB, did string) (AccountExport, error) {
	out := AccountExport{}
	for _, a := range accountQueries {
		rows, err := QueryMaps(ctx, q, a.query, did)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", a.table, err)
		}
		out[a.table] = rows
	}
	return out, nil
}

// QueryMaps runs query and returns its rows as column name → value (an
// exported row's shape). Text stays text, integers int64.
func QueryMaps(ctx context.Context, q *sql.DB, query string, args ...any) ([]map[string]any, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				vals[i] = string(b)
			}
			row[c] = vals[i]
		}
		out = append(out, row)
	}
	return out, rows.Err()
}
