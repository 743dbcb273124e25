package browse

import (
	"context"
	"errors"
	"fmt"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
)

// Owners and records are read through pkg/appview/pdsread; these wrappers
// put its errors in this package's terms. A missing record stays
// pdsread.ErrRecordNotFound (errors.Is) for the caller to decide on.

// resolve turns a handle or DID into the account and its PDS. An identity
// that does not exist, whose handle does not verify or that declares no PDS
// is ErrNotFound; a lookup that failed for other reasons (network, PLC) is
// ErrUnavailable.
func (s *Service) resolve(ctx context.Context, ident string) (Owner, error) {
	acct, err := pdsread.Resolve(ctx, s.dir, ident)
	return acct, pageErr(err)
}

// repoPage reads the io.atcr.repo.page record of a repository.
func (s *Service) repoPage(ctx context.Context, owner Owner, path string) (*pdsread.Record, error) {
	rec, err := s.pds.GetRecord(ctx, owner, atcr.RepoPageNSID, pdsread.RepoPageKey(path))
	return rec, pageErr(err)
}

// pageErr classifies a pdsread failure for the pages: an account that does
// not exist or is not active is ErrNotFound, anything else but a missing
// record ErrUnavailable.
func pageErr(err error) error {
	if err == nil || errors.Is(err, pdsread.ErrRecordNotFound) {
		return err
	}
	if errors.Is(err, pdsread.ErrNotFound) || errors.Is(err, pdsread.ErrSuspended) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
