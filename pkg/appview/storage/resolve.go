package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/directory"
)

// ResolveOwner implements registry.Resolver: handle or DID → verified
// identity → PDS endpoint, cached by the directory. An identity that does
// not exist, whose handle does not verify or that declares no PDS is
// registry.ErrNameUnknown; a resolution that failed for network reasons is
// registry.ErrUnavailable.
func (s *Store) ResolveOwner(ctx context.Context, ident string) (registry.Owner, error) {
	id, err := directory.ResolveIdentity(ctx, s.dir, ident)
	if err != nil {
		if notFoundIdentity(err) {
			return registry.Owner{}, fmt.Errorf("%w: %w", registry.ErrNameUnknown, err)
		}
		return registry.Owner{}, fmt.Errorf("%w: %w", registry.ErrDirectoryUnavailable, err)
	}
	pds, err := directory.PDSEndpoint(id)
	if err != nil {
		return registry.Owner{}, fmt.Errorf("%w: %w", registry.ErrNameUnknown, err)
	}
	owner := registry.Owner{DID: id.DID, PDS: pds}
	if !id.Handle.IsInvalidHandle() {
		owner.Handle = id.Handle.String()
	}
	return owner, nil
}

// notFoundIdentity reports the resolution failures that mean "no such
// identity" rather than "could not ask".
func notFoundIdentity(err error) bool {
	for _, e := range []error{
		identity.ErrHandleNotFound, identity.ErrHandleMismatch, identity.ErrHandleNotDeclared,
		identity.ErrHandleReservedTLD, identity.ErrInvalidHandle, identity.ErrDIDNotFound,
		directory.ErrInvalidIdentifier,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
