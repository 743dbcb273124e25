package index

import (
	"context"
	"fmt"

	"atcr.io/pkg/appview/db"
)

// exportQueries are the index rows an account owns, for its data export.
var exportQueries = []struct{ table, query string }{
	{"users", `SELECT did, handle, display_name, description, avatar_cid, default_hold, updated_at FROM users WHERE did = ?`},
	{"repositories", `SELECT did, repository, last_push_at FROM repositories WHERE did = ? ORDER BY repository`},
	{"manifests", `SELECT did, rkey, repository, digest, media_type, artifact_type, hold_did, size, subject_digest, annotations, created_at, cid
		FROM manifests WHERE did = ? ORDER BY repository, created_at`},
	{"tags", `SELECT did, rkey, repository, tag, manifest_rkey, digest, created_at, updated_at, cid FROM tags WHERE did = ? ORDER BY repository, tag`},
	{"repo_pages", `SELECT did, rkey, repository, description, avatar_cid, created_at, updated_at, cid FROM repo_pages WHERE did = ? ORDER BY repository`},
	{"stars", `SELECT did, rkey, subject_did, subject_repository, created_at, cid FROM stars WHERE did = ? ORDER BY created_at`},
	{"repository_stats", `SELECT did, repository, pull_count, push_count, last_pull, last_push FROM repository_stats WHERE did = ? ORDER BY repository`},
}

// ExportAccount returns the index rows did owns, by table: its users row,
// repositories, manifests, tags, repo pages, the stars it gave, and the
// pull/push counters of its repositories. (Layers and children of its
// manifests are in its manifest records; the export links those.)
func (s *Store) ExportAccount(ctx context.Context, did string) (map[string][]map[string]any, error) {
	out := map[string][]map[string]any{}
	for _, q := range exportQueries {
		rows, err := db.QueryMaps(ctx, s.sql, q.query, did)
		if err != nil {
			return nil, fmt.Errorf("export %s of %s: %w", q.table, truncate(did), err)
		}
		out[q.table] = rows
	}
	return out, nil
}
