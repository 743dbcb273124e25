package pdsread

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/directory"
)

// Account is a resolved identity and the PDS its records live on.
type Account struct {
	DID syntax.DID
	// Handle is the verified handle, or "" when the identity has none.
	Handle string
	// PDS is the base URL of the account's PDS.
	PDS string
}

// Name is how repository names and page URLs spell the account: the
// handle, or the DID when there is no verified handle.
func (a Account) Name() string {
	if a.Handle != "" {
		return a.Handle
	}
	return a.DID.String()
}

// Resolve turns a handle or DID into the account and its PDS, through the
// (caching) directory. An identity that does not exist, whose handle does
// not verify or that declares no PDS is ErrNotFound; a lookup that failed
// for other reasons (network, PLC) is ErrUnavailable.
func Resolve(ctx context.Context, dir identity.Directory, ident string) (Account, error) {
	id, err := directory.ResolveIdentity(ctx, dir, ident)
	if err != nil {
		if identityNotFound(err) {
			return Account{}, fmt.Errorf("resolve %q: %w: %w", ident, ErrNotFound, err)
		}
		return Account{}, fmt.Errorf("resolve %q: %w: %w", ident, ErrUnavailable, err)
	}
	pds, err := directory.PDSEndpoint(id)
	if err != nil {
		return Account{}, fmt.Errorf("resolve %q: %w: %w", ident, ErrNotFound, err)
	}
	acct := Account{DID: id.DID, PDS: pds}
	if !id.Handle.IsInvalidHandle() {
		acct.Handle = id.Handle.String()
	}
	return acct, nil
}

// identityNotFound reports the resolution failures that mean "no such
// identity" rather than "could not ask".
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
