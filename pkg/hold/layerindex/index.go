package layerindex

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/pds"
)

// tablesSQL: layer_records mirrors the records; layer_user_blobs counts, per
// user and digest, the records naming it (refs) with the size of the first
// one; layer_usage is the sum of a user's layer_user_blobs sizes.
const tablesSQL = `
CREATE TABLE IF NOT EXISTS layer_records (
	rkey     TEXT PRIMARY KEY,
	digest   TEXT NOT NULL,
	size     INTEGER NOT NULL,
	user_did TEXT NOT NULL,
	manifest TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS layer_records_by_manifest ON layer_records(manifest);
CREATE INDEX IF NOT EXISTS layer_records_by_digest ON layer_records(digest);
CREATE TABLE IF NOT EXISTS layer_user_blobs (
	user_did TEXT NOT NULL,
	digest   TEXT NOT NULL,
	size     INTEGER NOT NULL,
	refs     INTEGER NOT NULL,
	PRIMARY KEY (user_did, digest)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS layer_usage (
	user_did TEXT PRIMARY KEY,
	bytes    INTEGER NOT NULL
) WITHOUT ROWID;
`

// Index is the layer index. Create it with New, pass it to pds.Open in
// Options.Indexes; its queries work once Open returned.
type Index struct {
	db *sql.DB
}

var _ pds.Index = (*Index)(nil)

// New returns an index not yet attached to a repository.
func New() *Index { return &Index{} }

// Name is the index's state key; bump the suffix when the schema changes.
func (*Index) Name() string { return "layers_v1" }

// Collection is io.atcr.hold.layer.
func (*Index) Collection() syntax.NSID { return atcr.HoldLayerNSID }

// Schema creates the tables.
func (*Index) Schema() string { return tablesSQL }

// Attach keeps the database for queries.
func (x *Index) Attach(db *sql.DB) { x.db = db }

// Reset empties every table.
func (*Index) Reset(ctx context.Context, tx *sql.Tx) error {
	for _, table := range []string{"layer_records", "layer_user_blobs", "layer_usage"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
			return fmt.Errorf("empty %s: %w", table, err)
		}
	}
	return nil
}

// row is the part of a layer record the index keeps.
type row struct {
	digest, user, manifest string
	size                   int64
}

// parseRecord reads the indexed fields; ok is false for a record that
// names no user or digest or has no valid size, which counts for nothing
// (as the lexicon validation of every write makes impossible anyway).
func parseRecord(rec map[string]any) (row, bool) {
	r := row{}
	r.digest, _ = rec["digest"].(string)
	r.user, _ = rec["userDid"].(string)
	r.manifest, _ = rec["manifest"].(string)
	switch v := rec["size"].(type) {
	case int64:
		r.size = v
	case int:
		r.size = int64(v)
	case float64:
		r.size = int64(v)
	default:
		return row{}, false
	}
	return r, r.digest != "" && r.user != "" && r.size >= 0
}

// statements are the prepared statements of one Apply.
type statements struct {
	get, del, ins, blobGet, blobIns, blobRefs, blobDel, usageAdd *sql.Stmt
}

func prepare(ctx context.Context, tx *sql.Tx) (*statements, error) {
	s := &statements{}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.get, `SELECT digest, size, user_did, manifest FROM layer_records WHERE rkey = ?`},
		{&s.del, `DELETE FROM layer_records WHERE rkey = ?`},
		{&s.ins, `INSERT INTO layer_records (rkey, digest, size, user_did, manifest) VALUES (?, ?, ?, ?, ?)`},
		{&s.blobGet, `SELECT size, refs FROM layer_user_blobs WHERE user_did = ? AND digest = ?`},
		{&s.blobIns, `INSERT INTO layer_user_blobs (user_did, digest, size, refs) VALUES (?, ?, ?, 1)`},
		{&s.blobRefs, `UPDATE layer_user_blobs SET refs = refs + ? WHERE user_did = ? AND digest = ?`},
		{&s.blobDel, `DELETE FROM layer_user_blobs WHERE user_did = ? AND digest = ?`},
		{&s.usageAdd, `INSERT INTO layer_usage (user_did, bytes) VALUES (?, ?)
			ON CONFLICT(user_did) DO UPDATE SET bytes = bytes + excluded.bytes`},
	} {
		st, err := tx.PrepareContext(ctx, p.sql)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.dst = st
	}
	return s, nil
}

func (s *statements) close() {
	for _, st := range []*sql.Stmt{s.get, s.del, s.ins, s.blobGet, s.blobIns, s.blobRefs, s.blobDel, s.usageAdd} {
		if st != nil {
			st.Close()
		}
	}
}

// Apply removes what the index held for each changed key and adds the new
// record, keeping the per-user counts and usage exact.
func (*Index) Apply(ctx context.Context, tx *sql.Tx, changes []pds.RecordChange) error {
	s, err := prepare(ctx, tx)
	if err != nil {
		return err
	}
	defer s.close()
	for _, c := range changes {
		if err := s.remove(ctx, c.RKey.String()); err != nil {
			return err
		}
		if c.Record == nil {
			continue
		}
		r, ok := parseRecord(c.Record)
		if !ok {
			continue
		}
		if err := s.add(ctx, c.RKey.String(), r); err != nil {
			return err
		}
	}
	return nil
}

func (s *statements) remove(ctx context.Context, rkey string) error {
	var old row
	err := s.get.QueryRowContext(ctx, rkey).Scan(&old.digest, &old.size, &old.user, &old.manifest)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read layer row %s: %w", rkey, err)
	}
	if _, err := s.del.ExecContext(ctx, rkey); err != nil {
		return fmt.Errorf("delete layer row %s: %w", rkey, err)
	}
	var size, refs int64
	err = s.blobGet.QueryRowContext(ctx, old.user, old.digest).Scan(&size, &refs)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read user blob: %w", err)
	}
	if refs > 1 {
		_, err = s.blobRefs.ExecContext(ctx, -1, old.user, old.digest)
		return wrap(err, "count down user blob")
	}
	if _, err := s.blobDel.ExecContext(ctx, old.user, old.digest); err != nil {
		return fmt.Errorf("delete user blob: %w", err)
	}
	_, err = s.usageAdd.ExecContext(ctx, old.user, -size)
	return wrap(err, "update usage")
}

func (s *statements) add(ctx context.Context, rkey string, r row) error {
	if _, err := s.ins.ExecContext(ctx, rkey, r.digest, r.size, r.user, r.manifest); err != nil {
		return fmt.Errorf("insert layer row %s: %w", rkey, err)
	}
	var size, refs int64
	err := s.blobGet.QueryRowContext(ctx, r.user, r.digest).Scan(&size, &refs)
	switch {
	case err == sql.ErrNoRows:
		if _, err := s.blobIns.ExecContext(ctx, r.user, r.digest, r.size); err != nil {
			return fmt.Errorf("insert user blob: %w", err)
		}
		_, err = s.usageAdd.ExecContext(ctx, r.user, r.size)
		return wrap(err, "update usage")
	case err != nil:
		return fmt.Errorf("read user blob: %w", err)
	}
	_, err = s.blobRefs.ExecContext(ctx, 1, r.user, r.digest)
	return wrap(err, "count up user blob")
}

func wrap(err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
