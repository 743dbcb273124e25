package pds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Index is a secondary index over one collection, kept in the repository's
// own SQLite database. It is written in the same transaction as every
// commit that touches the collection, so it can never disagree with the
// records, and rebuilt from the records at Open when its state row is
// missing or older than the head (a new index, a database written by an
// older binary, a restored backup).
type Index interface {
	// Name identifies the index's state row; change it when the schema
	// changes and the index is rebuilt.
	Name() string
	// Collection is the collection the index covers.
	Collection() syntax.NSID
	// Schema creates the index's tables if they do not exist.
	Schema() string
	// Reset empties the index before a rebuild.
	Reset(ctx context.Context, tx *sql.Tx) error
	// Apply applies one commit's changes to records of the collection, in
	// commit order.
	Apply(ctx context.Context, tx *sql.Tx, changes []RecordChange) error
	// Attach hands the index the database for its queries, after the
	// schema exists and the index is current.
	Attach(db *sql.DB)
}

// RecordChange is a created, updated or deleted record of an index's
// collection.
type RecordChange struct {
	RKey syntax.RecordKey
	// Record is the new value; nil when the record was deleted. An update
	// replaces whatever the index held for RKey.
	Record map[string]any
}

// indexStateSchema records, per index, the head sequence number the index
// reflects.
const indexStateSchema = `
CREATE TABLE IF NOT EXISTS index_state (
	name TEXT PRIMARY KEY,
	seq  INTEGER NOT NULL
);`

// rebuildPage is the listing page size of a rebuild.
const rebuildPage = 100

// createIndexes creates the indexes' tables. It runs in Open before the
// repository is loaded, so that a genesis commit can record their state.
func (p *PDS) createIndexes(ctx context.Context) error {
	if _, err := p.db.ExecContext(ctx, indexStateSchema); err != nil {
		return fmt.Errorf("create index state: %w", err)
	}
	seen := map[string]bool{}
	for _, idx := range p.indexes {
		if seen[idx.Name()] {
			return fmt.Errorf("pds: index %s registered twice", idx.Name())
		}
		seen[idx.Name()] = true
		if _, err := p.db.ExecContext(ctx, idx.Schema()); err != nil {
			return fmt.Errorf("create index %s: %w", idx.Name(), err)
		}
	}
	return nil
}

// openIndexes rebuilds the stale indexes and attaches them. It runs in
// Open, after the repository is loaded and before any write can happen.
func (p *PDS) openIndexes(ctx context.Context) error {
	for _, idx := range p.indexes {
		var seq int64
		err := p.db.QueryRowContext(ctx, `SELECT seq FROM index_state WHERE name = ?`, idx.Name()).Scan(&seq)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			seq = -1
		case err != nil:
			return fmt.Errorf("read state of index %s: %w", idx.Name(), err)
		}
		if seq != p.head.Seq {
			if err := p.rebuildIndex(ctx, idx); err != nil {
				return err
			}
		}
		idx.Attach(p.db)
	}
	return nil
}

// rebuildIndex fills idx from every record of its collection in one
// transaction.
func (p *PDS) rebuildIndex(ctx context.Context, idx Index) error {
	p.log.Info("rebuilding index from the repository", "index", idx.Name(), "collection", idx.Collection())
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rebuild index %s: %w", idx.Name(), err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := idx.Reset(ctx, tx); err != nil {
		return fmt.Errorf("reset index %s: %w", idx.Name(), err)
	}
	total, cursor := 0, ""
	for {
		recs, next, err := p.ListRecords(ctx, idx.Collection(), rebuildPage, cursor, true)
		if err != nil {
			return fmt.Errorf("rebuild index %s: %w", idx.Name(), err)
		}
		changes := make([]RecordChange, len(recs))
		for i, r := range recs {
			changes[i] = RecordChange{RKey: r.RKey, Record: r.Value}
		}
		if err := idx.Apply(ctx, tx, changes); err != nil {
			return fmt.Errorf("rebuild index %s: %w", idx.Name(), err)
		}
		total += len(recs)
		if next == "" {
			break
		}
		cursor = next
	}
	if err := setIndexSeq(ctx, tx, idx.Name(), p.head.Seq); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rebuild index %s: %w", idx.Name(), err)
	}
	p.log.Info("index rebuilt", "index", idx.Name(), "records", total)
	return nil
}

func setIndexSeq(ctx context.Context, tx *sql.Tx, name string, seq int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO index_state (name, seq) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET seq = excluded.seq`, name, seq); err != nil {
		return fmt.Errorf("update state of index %s: %w", name, err)
	}
	return nil
}

// indexCommit applies a commit's record changes to every index inside the
// commit's transaction and moves each index's state to the new head.
func indexCommit(ctx context.Context, tx *sql.Tx, indexes []Index, prepared []preparedWrite, seq int64) error {
	for _, idx := range indexes {
		var changes []RecordChange
		for _, pw := range prepared {
			if pw.w.Collection != idx.Collection() {
				continue
			}
			c := RecordChange{RKey: pw.w.RKey}
			if pw.w.Op != Delete {
				c.Record = pw.value
			}
			changes = append(changes, c)
		}
		if len(changes) > 0 {
			if err := idx.Apply(ctx, tx, changes); err != nil {
				return fmt.Errorf("index %s: %w", idx.Name(), err)
			}
		}
		if err := setIndexSeq(ctx, tx, idx.Name(), seq); err != nil {
			return err
		}
	}
	return nil
}
