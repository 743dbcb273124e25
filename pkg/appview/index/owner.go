package index

import (
	"context"
	"errors"
	"strings"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
)

// OwnerByName finds the account a repository name's first component names:
// a DID as it is; a handle by the users table, else — when dir is not nil —
// by the identity directory (verified both ways by indigo), remembering the
// handle for the next time. An account the index has no row of is
// db.ErrNotFound (wrapped), as is a handle nobody has.
func (s *Store) OwnerByName(ctx context.Context, dir identity.Directory, ident string) (User, error) {
	if strings.HasPrefix(ident, "did:") {
		return s.User(ctx, ident)
	}
	u, err := s.UserByHandle(ctx, ident)
	if !errors.Is(err, db.ErrNotFound) || dir == nil {
		return u, err
	}
	handle, perr := syntax.ParseHandle(ident)
	if perr != nil {
		return u, err
	}
	id, lerr := dir.LookupHandle(ctx, handle)
	if lerr != nil {
		return u, err // unknown or unresolvable: not found here
	}
	if u, err = s.User(ctx, id.DID.String()); err != nil {
		return u, err
	}
	h := handle.Normalize().String()
	if serr := s.SetHandle(ctx, id.DID.String(), h); serr != nil {
		s.log.WarnContext(ctx, "index: remember a resolved handle", "did", id.DID, "handle", h, "err", serr)
	} else {
		u.Handle = h
	}
	return u, nil
}
