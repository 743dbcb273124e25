package layerindex

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// errNotAttached is returned by queries on an index no repository opened.
var errNotAttached = errors.New("layerindex: not attached to a repository")

// maxQueryDigests bounds the digests of one IN (...) query (SQLite's
// variable limit is 32766; a manifest has at most 4,097 blobs).
const maxQueryDigests = 500

// ManifestDigests returns the digests recorded for the manifest.
func (x *Index) ManifestDigests(ctx context.Context, manifest syntax.ATURI) (map[string]bool, error) {
	out := map[string]bool{}
	err := x.stringSet(ctx, out, `SELECT digest FROM layer_records WHERE manifest = ?`, manifest.String())
	return out, err
}

// stringSet adds the single string column of every row to set.
func (x *Index) stringSet(ctx context.Context, set map[string]bool, q string, args ...any) error {
	return x.query(ctx, func(scan func(...any) error) error {
		var s string
		if err := scan(&s); err != nil {
			return err
		}
		set[s] = true
		return nil
	}, q, args...)
}

// ManifestRecordKeys returns the keys of the manifest's layer records.
func (x *Index) ManifestRecordKeys(ctx context.Context, manifest syntax.ATURI) ([]syntax.RecordKey, error) {
	var out []syntax.RecordKey
	err := x.query(ctx, func(scan func(...any) error) error {
		var k string
		if err := scan(&k); err != nil {
			return err
		}
		out = append(out, syntax.RecordKey(k))
		return nil
	}, `SELECT rkey FROM layer_records WHERE manifest = ? ORDER BY rkey`, manifest.String())
	return out, err
}

// UserOwns returns which of digests the user already has layer records
// for (under any manifest): bytes quota has counted for them already.
func (x *Index) UserOwns(ctx context.Context, user syntax.DID, digests []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(digests); start += maxQueryDigests {
		chunk := digests[start:min(start+maxQueryDigests, len(digests))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, user.String())
		for _, d := range chunk {
			args = append(args, d)
		}
		err := x.stringSet(ctx, out, `SELECT digest FROM layer_user_blobs WHERE user_did = ? AND digest IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Usage returns the sum of the sizes of the distinct digests among the
// user's layer records.
func (x *Index) Usage(ctx context.Context, user syntax.DID) (int64, error) {
	var bytes int64
	found := false
	err := x.query(ctx, func(scan func(...any) error) error {
		found = true
		return scan(&bytes)
	}, `SELECT bytes FROM layer_usage WHERE user_did = ?`, user.String())
	if !found {
		bytes = 0
	}
	return bytes, err
}

// Referenced reports whether any layer record names the digest.
func (x *Index) Referenced(ctx context.Context, digest string) (bool, error) {
	found := false
	err := x.query(ctx, func(func(...any) error) error {
		found = true
		return nil
	}, `SELECT 1 FROM layer_records WHERE digest = ? LIMIT 1`, digest)
	return found, err
}

// query runs a SELECT and calls each for every row.
func (x *Index) query(ctx context.Context, each func(scan func(...any) error) error, q string, args ...any) error {
	if x.db == nil {
		return errNotAttached
	}
	rows, err := x.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("layer index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return fmt.Errorf("layer index: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("layer index: %w", err)
	}
	return nil
}
