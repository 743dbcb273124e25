package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// BlobTombstone records that a blob was unlinked from one repository by
// DELETE /v2/<name>/blobs/<digest>. Blobs are content-addressed and shared
// in the hold, so a repository cannot destroy the bytes; the tombstone makes
// this repository answer as if it never had the blob, until the blob is
// uploaded or mounted into it again.
type BlobTombstone struct {
	DID syntax.DID
	// Repository is the path below the owner ("tools/cli"), so a handle and
	// a DID name of the same repository share their tombstones.
	Repository string
	// Digest is "<algorithm>:<hex>", validated by the caller.
	Digest    string
	DeletedAt time.Time
}

// tombstoneBatch bounds the digests of one lookup query, far below
// SQLite's limit on bound parameters.
const tombstoneBatch = 500

// PutBlobTombstone records t; a blob unlinked again keeps one tombstone,
// with the newer time.
func (d *DB) PutBlobTombstone(ctx context.Context, t BlobTombstone) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO blob_tombstones (did, repository, digest, deleted_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT(did, repository, digest) DO UPDATE SET deleted_at = excluded.deleted_at`,
		t.DID.String(), t.Repository, t.Digest, unix(t.DeletedAt))
	if err != nil {
		return fmt.Errorf("record unlink of %s from %s/%s: %w", t.Digest, t.DID, t.Repository, err)
	}
	return nil
}

// BlobTombstones returns those of digests that are unlinked from the
// repository, in the order given; none is an empty result, not an error.
func (d *DB) BlobTombstones(ctx context.Context, did syntax.DID, repository string, digests ...string) ([]string, error) {
	var found map[string]bool
	for start := 0; start < len(digests); start += tombstoneBatch {
		batch := digests[start:min(start+tombstoneBatch, len(digests))]
		args := make([]any, 0, 2+len(batch))
		args = append(args, did.String(), repository)
		for _, dg := range batch {
			args = append(args, dg)
		}
		query := `SELECT digest FROM blob_tombstones WHERE did = ? AND repository = ? AND digest IN (?` +
			strings.Repeat(", ?", len(batch)-1) + `)`
		rows, err := d.sql.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("read unlinks of %s/%s: %w", did, repository, err)
		}
		for rows.Next() {
			var dg string
			if err := rows.Scan(&dg); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read unlinks of %s/%s: %w", did, repository, err)
			}
			if found == nil {
				found = map[string]bool{}
			}
			found[dg] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read unlinks of %s/%s: %w", did, repository, err)
		}
	}
	var out []string
	for _, dg := range digests {
		if found[dg] {
			out = append(out, dg)
			delete(found, dg) // a digest given twice is reported once
		}
	}
	return out, nil
}

// ClearBlobTombstone links digest to the repository again (it was uploaded
// or mounted into it) and reports whether it had been unlinked.
func (d *DB) ClearBlobTombstone(ctx context.Context, did syntax.DID, repository, digest string) (bool, error) {
	res, err := d.sql.ExecContext(ctx, `DELETE FROM blob_tombstones WHERE did = ? AND repository = ? AND digest = ?`,
		did.String(), repository, digest)
	if err != nil {
		return false, fmt.Errorf("clear unlink of %s from %s/%s: %w", digest, did, repository, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("clear unlink of %s from %s/%s: %w", digest, did, repository, err)
	}
	return n > 0, nil
}
