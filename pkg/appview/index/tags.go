package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

func (s *Store) putTag(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey, cid string, t *atcr.Tag) error {
	oldRepo, err := s.tagRepository(ctx, tx, did, rkey)
	if err != nil {
		return err
	}
	digest := t.ManifestDigest
	manifestKey := ""
	if t.Manifest != "" {
		manifestKey, _ = tagManifestKey(did, t.Manifest) // checked by decode
		var resolved string
		err := tx.QueryRowContext(ctx, `SELECT digest FROM manifests WHERE did = ? AND rkey = ?`, did.String(), manifestKey).Scan(&resolved)
		switch {
		case err == nil:
			digest = resolved // the AT-URI wins over the deprecated digest
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("resolve tag: %w", err)
		}
	}
	created := s.clamp(parseTime(t.CreatedAt))
	updated := s.clamp(parseTime(t.UpdatedAt))
	if updated == 0 {
		updated = created
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tags
		(did, rkey, repository, tag, manifest_rkey, digest, created_at, updated_at, cid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (did, rkey) DO UPDATE SET repository = excluded.repository, tag = excluded.tag,
			manifest_rkey = excluded.manifest_rkey, digest = excluded.digest, created_at = excluded.created_at,
			updated_at = excluded.updated_at, cid = excluded.cid`,
		did.String(), rkey, t.Repository, t.Tag, manifestKey, digest, created, updated, cid); err != nil {
		return fmt.Errorf("write tag: %w", err)
	}
	if err := s.ensureUser(ctx, tx, did); err != nil {
		return err
	}
	if oldRepo != "" && oldRepo != t.Repository {
		if err := s.refreshRepository(ctx, tx, did, oldRepo, false); err != nil {
			return err
		}
	}
	return s.refreshRepository(ctx, tx, did, t.Repository, false)
}

func (s *Store) deleteTag(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey string) error {
	repo, err := s.tagRepository(ctx, tx, did, rkey)
	if err != nil || repo == "" {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE did = ? AND rkey = ?`, did.String(), rkey); err != nil {
		return fmt.Errorf("delete tag: %w", err)
	}
	return s.refreshRepository(ctx, tx, did, repo, false)
}

func (s *Store) tagRepository(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey string) (string, error) {
	var repo string
	err := tx.QueryRowContext(ctx, `SELECT repository FROM tags WHERE did = ? AND rkey = ?`, did.String(), rkey).Scan(&repo)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read tag: %w", err)
	}
	return repo, nil
}
