package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

func (s *Store) putRepoPage(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey, cid string, p *atcr.RepoPage) error {
	avatar := ""
	if p.Avatar != nil {
		avatar = p.Avatar.Ref.String()
	}
	created := s.clamp(parseTime(p.CreatedAt))
	updated := s.clamp(parseTime(p.UpdatedAt))
	if updated == 0 {
		updated = created
	}
	// decode made rkey the page key of p.Repository, so a page cannot move
	// between repositories and needs no old-repository refresh.
	if _, err := tx.ExecContext(ctx, `INSERT INTO repo_pages
		(did, rkey, repository, description, short_description, avatar_cid, created_at, updated_at, cid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (did, rkey) DO UPDATE SET repository = excluded.repository, description = excluded.description,
			short_description = excluded.short_description, avatar_cid = excluded.avatar_cid,
			created_at = excluded.created_at, updated_at = excluded.updated_at, cid = excluded.cid`,
		did.String(), rkey, p.Repository, p.Description, p.ShortDescription, avatar, created, updated, cid); err != nil {
		return fmt.Errorf("write repo page: %w", err)
	}
	if err := s.ensureUser(ctx, tx, did); err != nil {
		return err
	}
	return s.refreshRepositorySearch(ctx, tx, did, p.Repository)
}

func (s *Store) deleteRepoPage(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey string) error {
	var repo string
	err := tx.QueryRowContext(ctx, `DELETE FROM repo_pages WHERE did = ? AND rkey = ? RETURNING repository`, did.String(), rkey).Scan(&repo)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete repo page: %w", err)
	}
	return s.refreshRepositorySearch(ctx, tx, did, repo)
}
