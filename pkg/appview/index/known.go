package index

import (
	"context"
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
