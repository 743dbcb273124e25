package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// searchDescriptionBytes bounds the description text indexed for search:
// the head of a README says what the image is; the rest would only make
// the FTS index large.
const searchDescriptionBytes = 2000

// Annotation keys the search description is made from.
const (
	annotationTitle       = "org.opencontainers.image.title"
	annotationDescription = "org.opencontainers.image.description"
)

// refreshRepository re-derives a repository from its records after one of
// them changed: the repositories row (deleted when no manifest or tag names
// it any more), its annotations (from the newest manifest that has any) and
// its search row.
func (s *Store) refreshRepository(ctx context.Context, tx *sql.Tx, did syntax.DID, repo string) error {
	var lastPush sql.NullInt64
	var hasTags, hasManifests bool
	if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT max(created_at) FROM manifests WHERE did = ?1 AND repository = ?2),
			EXISTS (SELECT 1 FROM tags WHERE did = ?1 AND repository = ?2),
			EXISTS (SELECT 1 FROM manifests WHERE did = ?1 AND repository = ?2)`,
		did.String(), repo).Scan(&lastPush, &hasTags, &hasManifests); err != nil {
		return fmt.Errorf("derive repository %s: %w", repo, err)
	}
	if !hasTags && !hasManifests {
		return dropRepository(ctx, tx, did, repo)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO repositories (did, repository, last_push_at) VALUES (?, ?, ?)
		ON CONFLICT (did, repository) DO UPDATE SET last_push_at = excluded.last_push_at`,
		did.String(), repo, lastPush.Int64); err != nil {
		return fmt.Errorf("write repository %s: %w", repo, err)
	}
	if err := refreshAnnotations(ctx, tx, did, repo); err != nil {
		return err
	}
	return refreshRepositorySearch(ctx, tx, did, repo)
}

// dropRepository removes a repository's derived rows (not its stars, page
// or counters, which other records or this AppView own).
func dropRepository(ctx context.Context, tx *sql.Tx, did syntax.DID, repo string) error {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM repositories WHERE did = ? AND repository = ?`, did.String(), repo).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read repository %s: %w", repo, err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM repository_search WHERE rowid = ?`, []any{id}},
		{`DELETE FROM repositories WHERE id = ?`, []any{id}},
		{`DELETE FROM repository_annotations WHERE did = ? AND repository = ?`, []any{did.String(), repo}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("drop repository %s: %w", repo, err)
		}
	}
	return nil
}

func refreshAnnotations(ctx context.Context, tx *sql.Tx, did syntax.DID, repo string) error {
	var raw string
	err := tx.QueryRowContext(ctx, `SELECT annotations FROM manifests
		WHERE did = ? AND repository = ? AND annotations <> '{}'
		ORDER BY created_at DESC, rkey DESC LIMIT 1`, did.String(), repo).Scan(&raw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read annotations of %s: %w", repo, err)
	}
	var kept map[string]string
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &kept); err != nil {
			return fmt.Errorf("decode annotations of %s: %w", repo, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM repository_annotations WHERE did = ? AND repository = ?`, did.String(), repo); err != nil {
		return fmt.Errorf("clear annotations of %s: %w", repo, err)
	}
	for k, v := range kept {
		if _, err := tx.ExecContext(ctx, `INSERT INTO repository_annotations (did, repository, key, value) VALUES (?, ?, ?, ?)`,
			did.String(), repo, k, v); err != nil {
			return fmt.Errorf("write annotations of %s: %w", repo, err)
		}
	}
	return nil
}

// refreshRepositorySearch rewrites the FTS row of a repository, if the
// repository exists: owner handle, name, and a description made of the
// title and description annotations and the head of the repo page README.
func refreshRepositorySearch(ctx context.Context, tx *sql.Tx, did syntax.DID, repo string) error {
	var id int64
	var handle, title, desc, readme string
	err := tx.QueryRowContext(ctx, `SELECT r.id, coalesce(u.handle, ''),
			coalesce((SELECT value FROM repository_annotations WHERE did = r.did AND repository = r.repository AND key = ?3), ''),
			coalesce((SELECT value FROM repository_annotations WHERE did = r.did AND repository = r.repository AND key = ?4), ''),
			coalesce((SELECT substr(description, 1, ?5) FROM repo_pages WHERE did = r.did AND repository = r.repository LIMIT 1), '')
		FROM repositories r LEFT JOIN users u ON u.did = r.did
		WHERE r.did = ?1 AND r.repository = ?2`,
		did.String(), repo, annotationTitle, annotationDescription, searchDescriptionBytes).Scan(&id, &handle, &title, &desc, &readme)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read search fields of %s: %w", repo, err)
	}
	text := cutUTF8(strings.Join([]string{title, desc, readme}, " "), searchDescriptionBytes)
	if _, err := tx.ExecContext(ctx, `DELETE FROM repository_search WHERE rowid = ?`, id); err != nil {
		return fmt.Errorf("clear search row of %s: %w", repo, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO repository_search (rowid, handle, repository, description) VALUES (?, ?, ?, ?)`,
		id, handle, repo, text); err != nil {
		return fmt.Errorf("write search row of %s: %w", repo, err)
	}
	return nil
}

// cutUTF8 shortens s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
