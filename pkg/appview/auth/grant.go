package auth

import (
	"context"
	"slices"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/oci"
)

// grantFor decides what a token for id (nil: anonymous) may carry out of
// the requested access:
//
//   - pull on any repository, and the catalog, to anyone: ATCR's records
//     are public data;
//   - push, delete and "*" on a repository only when its identity (first
//     path component) is the user's handle or DID; for anyone else "*"
//     shrinks to pull.
func (s *Service) grantFor(ctx context.Context, id *Identity, requested []access.Access) *access.Grant {
	g := &access.Grant{Access: []access.Access{}}
	if id != nil {
		g.Subject = id.DID
		if !id.Handle.IsInvalidHandle() {
			g.Handle = id.Handle.String()
		}
	}
	owned := map[string]bool{}
	for _, a := range requested {
		granted := a
		switch {
		case a.Type == access.TypeRegistry:
			// parseScopes only lets registry:catalog through.
		case a.Action == access.ActionPull:
		case id == nil:
			if a.Action != access.ActionAll {
				continue
			}
			granted.Action = access.ActionPull
		default:
			mine, ok := owned[a.Name]
			if !ok {
				mine = s.owns(ctx, id.DID, g.Handle, a.Name)
				owned[a.Name] = mine
			}
			if !mine {
				if a.Action != access.ActionAll {
					continue
				}
				granted.Action = access.ActionPull
			}
		}
		if !slices.Contains(g.Access, granted) {
			g.Access = append(g.Access, granted)
		}
	}
	return g
}

// owns reports whether the repository name belongs to did: its identity is
// did itself, the handle the user logged in with, or a handle that resolves
// to did. Resolution failures mean "not owned".
func (s *Service) owns(ctx context.Context, did syntax.DID, handle, name string) bool {
	repo, err := oci.ParseRepository(name)
	if err != nil {
		return false
	}
	ident := repo.Identity()
	if repo.IsDID() {
		return ident == did.String()
	}
	if handle != "" && ident == handle {
		return true
	}
	resolved, err := directory.ResolveIdentity(ctx, s.dir, ident)
	if err != nil {
		s.log.DebugContext(ctx, "auth: resolve repository identity", "identity", ident, "err", err)
		return false
	}
	return resolved.DID == did
}
