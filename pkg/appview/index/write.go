package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

// Event is one Jetstream commit (or backfilled record): a put of Record, or
// with Delete a delete of its (DID, Collection, RKey).
type Event struct {
	Record
	Delete bool
}

// Batch is events applied in one transaction, with the Jetstream cursor.
type Batch struct {
	Events []Event
	// CursorUS, when above zero, is stored as the Jetstream cursor in the
	// same transaction: a crash never skips an event nor loses the cursor
	// of events already written.
	CursorUS int64
	// SkipUnchanged skips a put of a record the index holds already at the
	// same CID (same bytes, so the same rows): Jetstream's echo of a record
	// this AppView indexed when it wrote it (IndexRecord), or a replay
	// after a restart. A backfill leaves it off, so it re-derives every row.
	SkipUnchanged bool
}

// BatchResult says what Apply did.
type BatchResult struct {
	// Applied counts the events written (or, with SkipUnchanged, found
	// indexed already).
	Applied int
	// Invalid are the events refused, in order; nothing of them was written.
	Invalid []*InvalidRecordError
}

// Put creates or replaces the rows of one record. An invalid record returns
// an *InvalidRecordError and writes nothing.
func (s *Store) Put(ctx context.Context, r Record) error {
	did, v, err := decode(r)
	if err != nil {
		return err
	}
	return s.inTx(ctx, "index "+r.Collection, func(tx *sql.Tx) error {
		return s.put(ctx, tx, did, r, v)
	})
}

// Delete removes the rows of one record; deleting a record the index does
// not have is not an error.
func (s *Store) Delete(ctx context.Context, did, collection, rkey string) error {
	d, err := checkAddress(did, collection, rkey)
	if err != nil {
		return err
	}
	return s.inTx(ctx, "unindex "+collection, func(tx *sql.Tx) error {
		return s.delete(ctx, tx, d, collection, rkey)
	})
}

// Apply validates every event, then writes the valid ones and the cursor
// in one transaction. A database error rolls back the whole batch.
func (s *Store) Apply(ctx context.Context, b Batch) (BatchResult, error) {
	type valid struct {
		ev  Event
		did syntax.DID
		v   any
	}
	var res BatchResult
	todo := make([]valid, 0, len(b.Events))
	for _, ev := range b.Events {
		var (
			did syntax.DID
			v   any
			err error
		)
		if ev.Delete {
			did, err = checkAddress(ev.DID, ev.Collection, ev.RKey)
		} else {
			did, v, err = decode(ev.Record)
		}
		var invalid *InvalidRecordError
		if errors.As(err, &invalid) {
			res.Invalid = append(res.Invalid, invalid)
			continue
		}
		todo = append(todo, valid{ev, did, v})
	}
	err := s.inTx(ctx, fmt.Sprintf("index batch of %d", len(b.Events)), func(tx *sql.Tx) error {
		for _, t := range todo {
			var err error
			switch {
			case t.ev.Delete:
				err = s.delete(ctx, tx, t.did, t.ev.Collection, t.ev.RKey)
			case b.SkipUnchanged:
				var same bool
				if same, err = s.unchanged(ctx, tx, t.did, t.ev.Record); err == nil && !same {
					err = s.put(ctx, tx, t.did, t.ev.Record, t.v)
				}
			default:
				err = s.put(ctx, tx, t.did, t.ev.Record, t.v)
			}
			if err != nil {
				return fmt.Errorf("%s/%s/%s: %w", t.did, t.ev.Collection, t.ev.RKey, err)
			}
		}
		if b.CursorUS > 0 {
			return s.setCursor(ctx, tx, b.CursorUS)
		}
		return nil
	})
	if err != nil {
		return BatchResult{Invalid: res.Invalid}, err
	}
	res.Applied = len(todo)
	return res, nil
}

// cidTables are the tables holding one row per record of a collection,
// with the record's CID.
var cidTables = map[string]string{
	atcr.ManifestNSID:   "manifests",
	atcr.TagNSID:        "tags",
	atcr.RepoPageNSID:   "repo_pages",
	atcr.SailorStarNSID: "stars",
}

// unchanged reports whether the index holds r already at r's CID.
func (s *Store) unchanged(ctx context.Context, tx *sql.Tx, did syntax.DID, r Record) (bool, error) {
	table, ok := cidTables[r.Collection]
	if !ok || r.CID == "" {
		return false, nil
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE did = ? AND rkey = ? AND cid = ?`, did.String(), r.RKey, r.CID).Scan(&one)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	}
	return false, fmt.Errorf("look up indexed %s: %w", r.Collection, err)
}

// put dispatches a decoded record to its resource.
func (s *Store) put(ctx context.Context, tx *sql.Tx, did syntax.DID, r Record, v any) error {
	switch v := v.(type) {
	case *atcr.Manifest:
		return s.putManifest(ctx, tx, did, r.RKey, r.CID, v)
	case *atcr.Tag:
		return s.putTag(ctx, tx, did, r.RKey, r.CID, v)
	case *atcr.RepoPage:
		return s.putRepoPage(ctx, tx, did, r.RKey, r.CID, v)
	case *atcr.SailorStar:
		return s.putStar(ctx, tx, did, r.RKey, r.CID, v)
	case *atcr.SailorProfile:
		return s.putSailorProfile(ctx, tx, did, v)
	case *bskyProfile:
		return s.putBskyProfile(ctx, tx, did, v)
	case *atcr.HoldCaptain:
		return s.putCaptain(ctx, tx, did, v)
	case *atcr.HoldCrew:
		return s.putCrew(ctx, tx, did, r.RKey, r.CID, v)
	}
	return fmt.Errorf("no writer for %T", v)
}

// delete dispatches a record delete to its resource.
func (s *Store) delete(ctx context.Context, tx *sql.Tx, did syntax.DID, collection, rkey string) error {
	switch collection {
	case atcr.ManifestNSID:
		return s.deleteManifest(ctx, tx, did, rkey)
	case atcr.TagNSID:
		return s.deleteTag(ctx, tx, did, rkey)
	case atcr.RepoPageNSID:
		return s.deleteRepoPage(ctx, tx, did, rkey)
	case atcr.SailorStarNSID:
		_, err := tx.ExecContext(ctx, `DELETE FROM stars WHERE did = ? AND rkey = ?`, did.String(), rkey)
		return err
	case atcr.SailorProfileNSID:
		return s.clearSailorProfile(ctx, tx, did)
	case BskyProfileNSID:
		return s.clearBskyProfile(ctx, tx, did)
	case atcr.HoldCaptainNSID:
		_, err := tx.ExecContext(ctx, `DELETE FROM hold_captain_records WHERE hold_did = ?`, did.String())
		return err
	case atcr.HoldCrewNSID:
		_, err := tx.ExecContext(ctx, `DELETE FROM hold_crew WHERE hold_did = ? AND rkey = ?`, did.String(), rkey)
		return err
	}
	return fmt.Errorf("no delete for %s", collection)
}
