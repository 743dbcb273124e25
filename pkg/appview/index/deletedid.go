package index

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// DeleteDID removes everything indexed from did's records, before a
// backfill re-reads its repo: its manifests (with layers and children),
// tags, repositories with their search rows and annotations, repo pages,
// the stars it gave, its profile fields, and, when did is a hold, its
// captain and crew records. It keeps the users row's handle (an identity
// fact, not a record), the stars others gave its repositories (their
// records), and the pull/push counters (this AppView's own count, which no
// record can restore).
func (s *Store) DeleteDID(ctx context.Context, did string) error {
	d, err := syntax.ParseDID(did)
	if err != nil {
		return &InvalidRecordError{DID: did, Err: err}
	}
	return s.inTx(ctx, "unindex "+did, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM repository_search WHERE rowid IN (SELECT id FROM repositories WHERE did = ?)`,
			`DELETE FROM repositories WHERE did = ?`,
			`DELETE FROM repository_annotations WHERE did = ?`,
			`DELETE FROM manifests WHERE did = ?`, // layers, manifest_references cascade
			`DELETE FROM tags WHERE did = ?`,
			`DELETE FROM repo_pages WHERE did = ?`,
			`DELETE FROM stars WHERE did = ?`,
			`DELETE FROM hold_captain_records WHERE hold_did = ?`,
			`DELETE FROM hold_crew WHERE hold_did = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, d.String()); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		var known bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE did = ?)`, d.String()).Scan(&known); err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		if !known {
			return nil
		}
		return s.updateUser(ctx, tx, d, `display_name = '', description = '', avatar_cid = '', default_hold = ''`)
	})
}
