package crew

import (
	"context"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
)

// CanRead allows blob reads: anyone on a public hold; otherwise the owner or
// crew with blob:read or blob:write. Anonymous callers of a private hold get
// 401 AuthRequired, other callers without access 403 Forbidden.
func (s *Service) CanRead(ctx context.Context, caller syntax.DID) error {
	if s.settings.Public {
		return nil
	}
	return s.require(ctx, caller, "read blobs from this hold", PermBlobRead, PermBlobWrite)
}

// CanWrite allows blob uploads and manifest notifications: the owner or crew
// with blob:write.
func (s *Service) CanWrite(ctx context.Context, caller syntax.DID) error {
	return s.require(ctx, caller, "push to this hold", PermBlobWrite)
}

// CanAdmin allows changes to the hold's own repository
// (com.atproto.repo.uploadBlob, deleteRecord): the owner or crew with
// crew:admin.
func (s *Service) CanAdmin(ctx context.Context, caller syntax.DID) error {
	return s.require(ctx, caller, "administer this hold", PermCrewAdmin)
}

// require allows the owner and crew holding any of perms.
func (s *Service) require(ctx context.Context, caller syntax.DID, what string, perms ...string) error {
	if caller == "" {
		return xrpc.AuthRequired("authentication is required to " + what)
	}
	if s.IsOwner(caller) {
		return nil
	}
	m, ok, err := s.Member(ctx, caller)
	if err != nil {
		return err
	}
	if ok {
		for _, p := range perms {
			if m.Has(p) {
				return nil
			}
		}
	}
	return xrpc.Forbidden(caller.String() + " may not " + what)
}
