package browse

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/atproto/directory"
)

// resolve turns a handle or DID into the account and its PDS, through the
// shared caching directory. An identity that does not exist, whose handle
// does not verify or that declares no PDS is ErrNotFound; a lookup that
// failed for other reasons (network, PLC) is ErrUnavailable.
func (s *Service) resolve(ctx context.Context, ident string) (Owner, error) {
	id, err := directory.ResolveIdentity(ctx, s.dir, ident)
	if err != nil {
		if identityNotFound(err) {
			return Owner{}, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return Owner{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	pds, err := directory.PDSEndpoint(id)
	if err != nil {
		return Owner{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	owner := Owner{DID: id.DID, PDS: pds}
	if !id.Handle.IsInvalidHandle() {
		owner.Handle = id.Handle.String()
	}
	return owner, nil
}

// identityNotFound reports the resolution failures that mean "no such
// identity" rather than "could not ask" (the same split as the registry's).
func identityNotFound(err error) bool {
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
