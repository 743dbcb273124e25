package crew

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
)

// RegistrationDisabled is the XRPC error name requestCrew answers with when
// the hold does not take the caller on.
const RegistrationDisabled = "RegistrationDisabled"

// defaultPermissions are the permissions a role gets when a join request
// names none.
var defaultPermissions = map[string][]string{
	RoleOwner:  {PermBlobRead, PermBlobWrite, PermCrewAdmin},
	RoleAdmin:  {PermBlobRead, PermBlobWrite, PermCrewAdmin},
	RoleMember: {PermBlobRead, PermBlobWrite},
	RoleWrite:  {PermBlobRead, PermBlobWrite},
	RoleRead:   {PermBlobRead},
}

// selfServiceRoles and selfServicePermissions are what a caller other than
// the owner may ask for: nobody grants themselves administration.
var (
	selfServiceRoles       = []string{RoleMember, RoleWrite, RoleRead}
	selfServicePermissions = []string{PermBlobRead, PermBlobWrite}
)

// Join adds caller to the crew (io.atcr.hold.requestCrew). It is allowed for
// the owner, and for anyone authenticated when the captain has allowAllCrew;
// otherwise it fails with 403 RegistrationDisabled. A caller who already is
// crew gets their existing record back with created false, unchanged. An
// empty role means member (owner for the owner); empty permissions mean the
// role's defaults. Only the owner may ask for role owner or admin or for
// crew:admin.
func (s *Service) Join(ctx context.Context, caller syntax.DID, role string, perms []string) (Member, bool, error) {
	if caller == "" {
		return Member{}, false, xrpc.AuthRequired("a service auth token is required to join the crew")
	}
	if m, ok, err := s.Member(ctx, caller); err != nil || ok {
		return m, false, err
	}
	owner := s.IsOwner(caller)
	if !owner && !s.settings.AllowAllCrew {
		return Member{}, false, xrpc.NewError(http.StatusForbidden, RegistrationDisabled,
			"this hold does not accept new crew members; ask its owner")
	}
	role, perms, err := joinTerms(owner, role, perms)
	if err != nil {
		return Member{}, false, err
	}
	return s.addMember(ctx, caller, role, perms)
}

// joinTerms applies defaults to a join request and checks it.
func joinTerms(owner bool, role string, perms []string) (string, []string, error) {
	if role == "" {
		role = RoleMember
		if owner {
			role = RoleOwner
		}
	}
	defaults, known := defaultPermissions[role]
	if !known {
		return "", nil, xrpc.InvalidRequest(fmt.Sprintf("unknown role %q", role))
	}
	if len(perms) == 0 {
		perms = defaults
	}
	perms = slices.Compact(slices.Sorted(slices.Values(perms)))
	for _, p := range perms {
		if !slices.Contains(defaultPermissions[RoleOwner], p) {
			return "", nil, xrpc.InvalidRequest(fmt.Sprintf("unknown permission %q", p))
		}
	}
	if owner {
		return role, perms, nil
	}
	if !slices.Contains(selfServiceRoles, role) {
		return "", nil, xrpc.Forbidden(fmt.Sprintf("only the hold owner may grant role %q", role))
	}
	for _, p := range perms {
		if !slices.Contains(selfServicePermissions, p) {
			return "", nil, xrpc.Forbidden(fmt.Sprintf("only the hold owner may grant %q", p))
		}
	}
	return role, perms, nil
}
