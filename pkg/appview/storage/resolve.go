package storage

import (
	"context"
	"errors"
	"fmt"

	"atcr.io/internal/ratelimit"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
)

// ResolveOwner implements registry.Resolver: handle or DID → verified
// identity → PDS endpoint, cached by the directory (pdsread.Resolve). An
// identity that does not exist, whose handle does not verify or that
// declares no PDS is registry.ErrNameUnknown; a resolution that failed for
// network reasons is registry.ErrDirectoryUnavailable.
func (s *Store) ResolveOwner(ctx context.Context, ident string) (registry.Owner, error) {
	acct, err := pdsread.Resolve(ctx, s.dir, ident)
	if err != nil {
		if errors.Is(err, ratelimit.ErrLimited) {
			return registry.Owner{}, fmt.Errorf("%w: %w", registry.ErrRateLimited, err)
		}
		if errors.Is(err, pdsread.ErrNotFound) {
			return registry.Owner{}, fmt.Errorf("%w: %w", registry.ErrNameUnknown, err)
		}
		return registry.Owner{}, fmt.Errorf("%w: %w", registry.ErrDirectoryUnavailable, err)
	}
	return registry.Owner{DID: acct.DID, Handle: acct.Handle, PDS: acct.PDS}, nil
}
