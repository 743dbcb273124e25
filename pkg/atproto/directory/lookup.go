package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

var errNotIdentifier = errors.New("at-identifier is neither a handle nor a DID")

// resolver is the part of identity.Resolver the lookups need.
type resolver interface {
	ResolveDID(ctx context.Context, did syntax.DID) (*identity.DIDDocument, error)
	ResolveHandle(ctx context.Context, h syntax.Handle) (syntax.DID, error)
}

// verifyingDirectory turns a resolver into an identity.Directory with the
// same bi-directional handle verification as indigo's BaseDirectory, which
// cannot be reused here because its lookups call its own resolve methods.
type verifyingDirectory struct {
	res resolver
}

var _ identity.Directory = (*verifyingDirectory)(nil)

// LookupHandle resolves the handle and accepts the result only if the DID
// document declares the same handle.
func (d *verifyingDirectory) LookupHandle(ctx context.Context, h syntax.Handle) (*identity.Identity, error) {
	h = h.Normalize()
	if h.IsInvalidHandle() {
		return nil, fmt.Errorf("lookup %s: %w", h, identity.ErrInvalidHandle)
	}
	did, err := d.res.ResolveHandle(ctx, h)
	if err != nil {
		return nil, err
	}
	doc, err := d.res.ResolveDID(ctx, did)
	if err != nil {
		return nil, err
	}
	ident := identity.ParseIdentity(doc)
	declared, err := ident.DeclaredHandle()
	if err != nil {
		return nil, fmt.Errorf("verify handle %s -> %s: %w", h, did, err)
	}
	if declared != h {
		return nil, fmt.Errorf("%w: %s resolves to %s, which declares %s", identity.ErrHandleMismatch, h, did, declared)
	}
	ident.Handle = declared
	return &ident, nil
}

// LookupDID resolves the DID and keeps the declared handle only if that
// handle resolves back to the DID; otherwise the handle is handle.invalid.
func (d *verifyingDirectory) LookupDID(ctx context.Context, did syntax.DID) (*identity.Identity, error) {
	doc, err := d.res.ResolveDID(ctx, did)
	if err != nil {
		return nil, err
	}
	ident := identity.ParseIdentity(doc)
	declared, err := ident.DeclaredHandle()
	if errors.Is(err, identity.ErrHandleNotDeclared) {
		return &ident, nil
	}
	if err != nil {
		return nil, fmt.Errorf("parse handle of %s: %w", did, err)
	}
	resolved, err := d.res.ResolveHandle(ctx, declared)
	switch {
	case errors.Is(err, identity.ErrHandleNotFound), errors.Is(err, identity.ErrHandleResolutionFailed):
		// An unverifiable handle leaves handle.invalid, like indigo.
	case err != nil:
		return nil, err
	case resolved == did:
		ident.Handle = declared
	}
	return &ident, nil
}

// Lookup dispatches on the identifier's kind.
func (d *verifyingDirectory) Lookup(ctx context.Context, atid syntax.AtIdentifier) (*identity.Identity, error) {
	return lookupAny(ctx, d, atid)
}

// lookupAny is Lookup for any directory: a handle or a DID.
func lookupAny(ctx context.Context, d identity.Directory, atid syntax.AtIdentifier) (*identity.Identity, error) {
	if h, err := atid.AsHandle(); err == nil {
		return d.LookupHandle(ctx, h)
	}
	if did, err := atid.AsDID(); err == nil {
		return d.LookupDID(ctx, did)
	}
	return nil, fmt.Errorf("%w: %q", errNotIdentifier, atid)
}

// Purge is a no-op: this directory does not cache (the CacheDirectory in
// front of it does).
func (d *verifyingDirectory) Purge(context.Context, syntax.AtIdentifier) error {
	return nil
}
