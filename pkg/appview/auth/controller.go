package auth

import (
	"fmt"
	"net/http"
	"strings"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/oci"
)

// Challenge error codes (RFC 6750 §3.1).
const (
	challengeInvalidToken      = "invalid_token"
	challengeInsufficientScope = "insufficient_scope"
)

// Controller checks the registry token of /v2 requests. Create it with
// Service.Controller.
//
// Authorized returns:
//   - the grant, when the bearer token is valid and allows every wanted access;
//   - an access.Challenge (answer 401 UNAUTHORIZED with its headers) when
//     there is no token, the token is invalid or expired, the bearer is
//     anonymous, or an authenticated user's token lacks access that a new
//     token could carry (a pull, or a push to the user's own repository);
//   - an *oci.Error with code DENIED (answer 403; errors.Is(err,
//     oci.ErrorCodeDenied) holds) when an authenticated user wants to push
//     to or delete from a repository that belongs to someone else.
//
// Wanted names must be canonical (oci.Repository.String()), as grants are.
// HTTP Basic credentials on /v2 are not accepted: clients get the challenge
// and fetch a token.
type Controller struct {
	s *Service
}

var _ access.Controller = (*Controller)(nil)

// Authorized implements access.Controller.
func (c *Controller) Authorized(r *http.Request, want ...access.Access) (*access.Grant, error) {
	raw, ok := bearerToken(r)
	if !ok {
		return nil, c.challenge(want, "")
	}
	g, err := c.s.verifyToken(raw)
	if err != nil {
		c.s.log.DebugContext(r.Context(), "auth: refused registry token", "err", err)
		return nil, c.challenge(want, challengeInvalidToken)
	}
	for _, w := range want {
		if g.Allows(w) {
			continue
		}
		if !g.Anonymous() && w.Type == access.TypeRepository && w.Action != access.ActionPull &&
			!c.s.owns(r.Context(), g.Subject, g.Handle, w.Name) {
			return nil, oci.ErrorCodeDenied.WithMessage(fmt.Sprintf(
				"%s on %s is reserved to the account that owns it", w.Action, w.Name))
		}
		return nil, c.challenge(want, challengeInsufficientScope)
	}
	return g, nil
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (c *Controller) challenge(want []access.Access, code string) *challenge {
	return &challenge{realm: c.s.realm, service: c.s.service, scope: formatScopes(want), code: code}
}

// challenge is the access.Challenge of this package.
type challenge struct {
	realm, service, scope string
	code                  string // "", invalid_token or insufficient_scope
}

var _ access.Challenge = (*challenge)(nil)

// Error implements error.
func (ch *challenge) Error() string {
	if ch.code == "" {
		return "authentication required"
	}
	return "authentication required: " + ch.code
}

// SetHeaders writes the WWW-Authenticate header Docker clients follow to the
// token endpoint. Every value is quoted; none can contain a quote (the realm
// and service come from configuration checked by New, the scope from
// validated names).
func (ch *challenge) SetHeaders(_ *http.Request, w http.ResponseWriter) {
	v := fmt.Sprintf(`Bearer realm=%q,service=%q`, ch.realm, ch.service)
	if ch.scope != "" {
		v += fmt.Sprintf(`,scope=%q`, ch.scope)
	}
	if ch.code != "" {
		v += fmt.Sprintf(`,error=%q`, ch.code)
	}
	w.Header().Set("WWW-Authenticate", v)
}
