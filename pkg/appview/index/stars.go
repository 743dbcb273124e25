package index

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

// A star is counted once per starrer and repository, however many star
// records the starrer has for it (count(DISTINCT did) in the queries).
func (s *Store) putStar(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey, cid string, st *atcr.SailorStar) error {
	owner, repo, _ := starSubject(st.Subject) // checked by decode
	if _, err := tx.ExecContext(ctx, `INSERT INTO stars (did, rkey, subject_did, subject_repository, created_at, cid)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (did, rkey) DO UPDATE SET subject_did = excluded.subject_did,
			subject_repository = excluded.subject_repository, created_at = excluded.created_at, cid = excluded.cid`,
		did.String(), rkey, owner.String(), repo, s.clamp(parseTime(st.CreatedAt)), cid); err != nil {
		return fmt.Errorf("write star: %w", err)
	}
	return s.ensureUser(ctx, tx, did)
}

// Starred reports whether did has starred the repository, for the star
// button's state.
func (s *Store) Starred(ctx context.Context, did, owner, repository string) (bool, error) {
	var yes bool
	if err := s.sql.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM stars
		WHERE subject_did = ? AND subject_repository = ? AND did = ?)`, owner, repository, did).Scan(&yes); err != nil {
		return false, fmt.Errorf("read star of %s on %s/%s: %w", did, owner, repository, err)
	}
	return yes, nil
}
