package storage

import (
	"context"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/registry"
)

// unavailableTombstones marks every failure of the tombstone store as the
// database's (registry.ErrDatabaseUnavailable: 503 with Retry-After). The
// blob paths read tombstones on every HEAD, GET and link: with the
// database down a push answered 500, which clients take for a registry
// bug rather than an outage to retry.
type unavailableTombstones struct{ inner Tombstones }

func (t unavailableTombstones) PutBlobTombstone(ctx context.Context, ts db.BlobTombstone) error {
	return databaseErr("write an unlink", t.inner.PutBlobTombstone(ctx, ts))
}

func (t unavailableTombstones) BlobTombstones(ctx context.Context, did syntax.DID, repository string, digests ...string) ([]string, error) {
	found, err := t.inner.BlobTombstones(ctx, did, repository, digests...)
	return found, databaseErr("read unlinks", err)
}

func (t unavailableTombstones) ClearBlobTombstone(ctx context.Context, did syntax.DID, repository, digest string) (bool, error) {
	cleared, err := t.inner.ClearBlobTombstone(ctx, did, repository, digest)
	return cleared, databaseErr("clear an unlink", err)
}

func databaseErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w: %w", what, registry.ErrDatabaseUnavailable, err)
}
