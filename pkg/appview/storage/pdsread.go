package storage

import (
	"context"
	"errors"
	"fmt"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
)

// The owner's records are read through pkg/appview/pdsread; these wrappers
// put its errors in the registry's terms. A missing record stays
// pdsread.ErrRecordNotFound (errors.Is), which each caller turns into the
// answer that fits (an unknown manifest, an unknown tag, no profile).

// account is the owner as pdsread names it.
func account(o registry.Owner) pdsread.Account {
	return pdsread.Account{DID: o.DID, Handle: o.Handle, PDS: o.PDS}
}

// pdsErr classifies a pdsread failure: an account that does not exist or
// is not active is registry.ErrNameUnknown, an unreachable or failing PDS
// registry.ErrPDSUnavailable.
func pdsErr(err error) error {
	switch {
	case err == nil, errors.Is(err, pdsread.ErrRecordNotFound):
		return err
	case errors.Is(err, pdsread.ErrNotFound), errors.Is(err, pdsread.ErrSuspended):
		return fmt.Errorf("%w: %w", registry.ErrNameUnknown, err)
	default:
		return fmt.Errorf("%w: %w", registry.ErrPDSUnavailable, err)
	}
}

// getRecord reads one of the owner's records.
func (s *Store) getRecord(ctx context.Context, owner registry.Owner, collection, rkey string) (*pdsread.Record, error) {
	rec, err := s.pds.GetRecord(ctx, account(owner), collection, rkey)
	return rec, pdsErr(err)
}

// listRecords lists one of the owner's collections (see
// pdsread.Reader.ListRecords).
func (s *Store) listRecords(ctx context.Context, owner registry.Owner, collection string, max int, fn func(pdsread.Record) bool) error {
	_, err := s.pds.ListRecords(ctx, account(owner), collection, max, fn)
	return pdsErr(err)
}
