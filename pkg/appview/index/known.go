package index

import (
	"context"
	"encoding/json"
	"fmt"
)

// KnownDIDs returns every DID the index has rows of, sorted: accounts
// (users), and holds — those with captain or crew records and those that
// manifests or profiles name — so a rebuild can re-read each one's repo.
func (s *Store) KnownDIDs(ctx context.Context) ([]string, error) {
	rows, err := s.sql.QueryContext(ctx, `
		SELECT did FROM users
		UNION SELECT hold_did FROM hold_captain_records
		UNION SELECT hold_did FROM hold_crew
		UNION SELECT hold_did FROM manifests WHERE hold_did <> ''
		UNION SELECT default_hold FROM users WHERE default_hold <> ''
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("known DIDs: %w", err)
	}
	defer rows.Close()
	var dids []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("known DIDs: %w", err)
		}
		dids = append(dids, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("known DIDs: %w", err)
	}
	return dids, nil
}

// UnseenDIDs returns those of dids the index has no rows of records of:
// no manifest, tag, repo page or star, no sailor profile hold, no captain
// or crew record. (A users row made only by a handle or a Bluesky profile
// does not count: those say nothing of the account's io.atcr.* records.)
// The Jetstream sink asks before it writes a batch, to find the accounts
// it meets for the first time.
func (s *Store) UnseenDIDs(ctx context.Context, dids []string) ([]string, error) {
	if len(dids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(dids)
	if err != nil {
		return nil, fmt.Errorf("unseen DIDs: %w", err)
	}
	rows, err := s.sql.QueryContext(ctx, `SELECT DISTINCT value FROM `+s.didListTable()+` WHERE
		NOT EXISTS (SELECT 1 FROM manifests WHERE did = d.value) AND
		NOT EXISTS (SELECT 1 FROM tags WHERE did = d.value) AND
		NOT EXISTS (SELECT 1 FROM repo_pages WHERE did = d.value) AND
		NOT EXISTS (SELECT 1 FROM stars WHERE did = d.value) AND
		NOT EXISTS (SELECT 1 FROM users WHERE did = d.value AND default_hold <> '') AND
		NOT EXISTS (SELECT 1 FROM hold_captain_records WHERE hold_did = d.value) AND
		NOT EXISTS (SELECT 1 FROM hold_crew WHERE hold_did = d.value)
		ORDER BY 1`, string(list))
	if err != nil {
		return nil, fmt.Errorf("unseen DIDs: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("unseen DIDs: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unseen DIDs: %w", err)
	}
	return out, nil
}
