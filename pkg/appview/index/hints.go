package index

import (
	"context"
	"database/sql"
	"fmt"
)

// The registry's repository index lists an account's records from its PDS
// up to a bound; past it, these read what the UI index holds instead
// (storage.IndexHints).

// ManifestKeys returns the record keys of owner's indexed manifest records
// of digest in repository, newest first, at most limit. The registry asks
// it for a manifest its own listing of the account missed because the
// listing stopped at its bound (storage.IndexHints); it reads each
// record from the PDS before trusting it.
func (s *Store) ManifestKeys(ctx context.Context, owner, repository, digest string, limit int) ([]string, error) {
	keys, err := s.column(ctx, `SELECT rkey FROM manifests WHERE did = ? AND repository = ? AND digest = ? ORDER BY rkey DESC LIMIT ?`,
		owner, repository, digest, limit)
	if err != nil {
		return nil, fmt.Errorf("read manifest keys of %s in %s/%s: %w", truncate(digest), truncate(owner), truncate(repository), err)
	}
	return keys, nil
}

// TagNames returns the tags of owner's repository the index holds, most
// recently moved first, at most limit.
func (s *Store) TagNames(ctx context.Context, owner, repository string, limit int) ([]string, error) {
	names, err := s.column(ctx, `SELECT tag FROM tags WHERE did = ? AND repository = ? ORDER BY updated_at DESC LIMIT ?`,
		owner, repository, limit)
	if err != nil {
		return nil, fmt.Errorf("read tags of %s/%s: %w", truncate(owner), truncate(repository), err)
	}
	return names, nil
}

// column reads a query of one text column.
func (s *Store) column(ctx context.Context, query string, args ...any) ([]string, error) {
	var out []string
	err := eachRow(ctx, s.sql, func(r *sql.Rows) error {
		var v string
		err := r.Scan(&v)
		out = append(out, v)
		return err
	}, query, args...)
	return out, err
}
