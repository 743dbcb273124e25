package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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

// refreshRepository re-derives a repository after one of its records
// changed: the repositories row (deleted when no manifest or tag names it
// any more), its annotations (from the newest manifest that has any; only
// manifests change them) and its search row (only when the repository is
// new or its annotations changed: a tag or replay leaves it alone). It runs
// for every event, so it reads everything it decides on in one statement.
func (s *Store) refreshRepository(ctx context.Context, tx *sql.Tx, did syntax.DID, repo string, manifestChanged bool) error {
	var lastPush, id, storedPush sql.NullInt64
	var hasTags, hasManifests bool
	if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT max(created_at) FROM manifests WHERE did = ?1 AND repository = ?2),
			EXISTS (SELECT 1 FROM tags WHERE did = ?1 AND repository = ?2),
			EXISTS (SELECT 1 FROM manifests WHERE did = ?1 AND repository = ?2),
			(SELECT id FROM repositories WHERE did = ?1 AND repository = ?2),
			(SELECT last_push_at FROM repositories WHERE did = ?1 AND repository = ?2)`,
		did.String(), repo).Scan(&lastPush, &hasTags, &hasManifests, &id, &storedPush); err != nil {
		return fmt.Errorf("derive repository %s: %w", repo, err)
	}
	if !hasTags && !hasManifests {
		return s.dropRepository(ctx, tx, did, repo)
	}
	created := !id.Valid
	switch {
	case created:
		// Another writer may create it at the same moment (PostgreSQL):
		// the row is derived, so either one's is right.
		if _, err := tx.ExecContext(ctx, `INSERT INTO repositories (did, repository, last_push_at) VALUES (?, ?, ?)
			ON CONFLICT (did, repository) DO UPDATE SET last_push_at = excluded.last_push_at`,
			did.String(), repo, lastPush.Int64); err != nil {
			return fmt.Errorf("write repository %s: %w", repo, err)
		}
	case storedPush.Int64 != lastPush.Int64:
		if _, err := tx.ExecContext(ctx, `UPDATE repositories SET last_push_at = ? WHERE id = ?`, lastPush.Int64, id.Int64); err != nil {
			return fmt.Errorf("write repository %s: %w", repo, err)
		}
	}
	annotationsChanged := false
	if manifestChanged {
		var err error
		if annotationsChanged, err = s.refreshAnnotations(ctx, tx, did, repo); err != nil {
			return err
		}
	}
	if !created && !annotationsChanged {
		return nil
	}
	return s.refreshRepositorySearch(ctx, tx, did, repo)
}

// dropRepository removes a repository's derived rows (not its stars, page
// or counters, which other records or this AppView own).
func (s *Store) dropRepository(ctx context.Context, tx *sql.Tx, did syntax.DID, repo string) error {
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

// refreshAnnotations stores the annotations of the repository's newest
// annotated manifest and reports whether they changed.
func (s *Store) refreshAnnotations(ctx context.Context, tx *sql.Tx, did syntax.DID, repo string) (bool, error) {
	var raw string
	err := tx.QueryRowContext(ctx, `SELECT annotations FROM manifests
		WHERE did = ? AND repository = ? AND annotations <> '{}'
		ORDER BY created_at DESC, rkey DESC LIMIT 1`, did.String(), repo).Scan(&raw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read annotations of %s: %w", repo, err)
	}
	var kept map[string]string
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &kept); err != nil {
			return false, fmt.Errorf("decode annotations of %s: %w", repo, err)
		}
	}
	current, err := s.readAnnotationsTx(ctx, tx, did, repo)
	if err != nil {
		return false, err
	}
	if maps.Equal(current, kept) {
		return false, nil // the common case: a new push of the same image, a replay
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM repository_annotations WHERE did = ? AND repository = ?`, did.String(), repo); err != nil {
		return false, fmt.Errorf("clear annotations of %s: %w", repo, err)
	}
	for k, v := range kept {
		if _, err := tx.ExecContext(ctx, `INSERT INTO repository_annotations (did, repository, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (did, repository, key) DO UPDATE SET value = excluded.value`,
			did.String(), repo, k, v); err != nil {
			return false, fmt.Errorf("write annotations of %s: %w", repo, err)
		}
	}
	return true, nil
}

// refreshRepositorySearch rewrites the FTS row of a repository, if the
// repository exists: owner handle, name, and a description made of the
// title and description annotations and the repo page's short description
// and the head of its README.
func (s *Store) refreshRepositorySearch(ctx context.Context, tx *sql.Tx, did syntax.DID, repo string) error {
	var id int64
	var handle, title, desc, readme string
	err := tx.QueryRowContext(ctx, `SELECT r.id, coalesce(u.handle, ''),
			coalesce((SELECT value FROM repository_annotations WHERE did = r.did AND repository = r.repository AND key = ?3), ''),
			coalesce((SELECT value FROM repository_annotations WHERE did = r.did AND repository = r.repository AND key = ?4), ''),
			coalesce((SELECT short_description || ' ' || substr(description, 1, ?5) FROM repo_pages WHERE did = r.did AND repository = r.repository LIMIT 1), '')
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
	var oldHandle, oldRepo, oldText string
	err = tx.QueryRowContext(ctx, `SELECT handle, repository, description FROM repository_search WHERE rowid = ?`, id).
		Scan(&oldHandle, &oldRepo, &oldText)
	if err == nil && oldHandle == handle && oldRepo == repo && oldText == text {
		return nil // unchanged: FTS5 writes are the dearest part of an event
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read search row of %s: %w", repo, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM repository_search WHERE rowid = ?`, id); err != nil {
		return fmt.Errorf("clear search row of %s: %w", repo, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO repository_search (rowid, handle, repository, description) VALUES (?, ?, ?, ?)`+
		s.searchRowUpsert("handle = excluded.handle, repository = excluded.repository, description = excluded.description"),
		id, handle, repo, text); err != nil {
		return fmt.Errorf("write search row of %s: %w", repo, err)
	}
	return nil
}

// readAnnotationsTx reads the stored annotations of a repository.
func (s *Store) readAnnotationsTx(ctx context.Context, tx *sql.Tx, did syntax.DID, repo string) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM repository_annotations WHERE did = ? AND repository = ?`, did.String(), repo)
	if err != nil {
		return nil, fmt.Errorf("read annotations of %s: %w", repo, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read annotations of %s: %w", repo, err)
		}
		out[k] = v
	}
	return out, rows.Err()
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
