package storage

import (
	"context"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Indexer is the web UI's index (the AppView database), told at once of
// the records this AppView writes and deletes, so a push shows on the
// pages before Jetstream echoes it, and of pushes for the counters.
// cmd/appview passes an adapter over *index.Store; nil turns it off.
//
// Its failures are logged, never a push's failure: the records are on the
// PDS, and Jetstream or a backfill brings the index up to date.
type Indexer interface {
	// IndexRecord indexes one record this AppView wrote (value in the
	// atproto data model, as written; cid as the PDS answered).
	IndexRecord(ctx context.Context, did, collection, rkey, cid string, value map[string]any) error
	// UnindexRecord removes one record this AppView deleted.
	UnindexRecord(ctx context.Context, did, collection, rkey string) error
	// CountPush counts a manifest PUT; it must not block.
	CountPush(did, repository string)
}

// indexRecord tells the index of a record written; a failure is logged.
func (s *Store) indexRecord(ctx context.Context, did syntax.DID, collection, rkey, cid string, value map[string]any) {
	if s.indexer == nil {
		return
	}
	if err := s.indexer.IndexRecord(context.WithoutCancel(ctx), did.String(), collection, rkey, cid, value); err != nil {
		s.log.WarnContext(ctx, "storage: record written but not indexed (Jetstream or a backfill will)", "did", did, "collection", collection, "rkey", rkey, "err", err)
	}
}

// unindexRecord tells the index of a record deleted; a failure is logged.
func (s *Store) unindexRecord(ctx context.Context, did syntax.DID, collection, rkey string) {
	if s.indexer == nil {
		return
	}
	if err := s.indexer.UnindexRecord(context.WithoutCancel(ctx), did.String(), collection, rkey); err != nil {
		s.log.WarnContext(ctx, "storage: record deleted but not unindexed (Jetstream or a backfill will)", "did", did, "collection", collection, "rkey", rkey, "err", err)
	}
}
