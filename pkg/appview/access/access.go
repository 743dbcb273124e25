package access

import (
	"context"
	"net/http"
	"slices"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Actions a registry token can grant on a repository.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
	ActionAll    = "*"
)

// Resource types of the Docker token scope grammar.
const (
	TypeRepository = "repository"
	TypeRegistry   = "registry"
)

// Access is one thing a request needs: an action on a resource, as in the
// Docker token scope "repository:alice.bsky.social/app:pull".
type Access struct {
	Type   string // TypeRepository or TypeRegistry
	Name   string // repository name ("alice.bsky.social/app") or "catalog"
	Action string
}

// Grant is what a verified token allows its bearer.
type Grant struct {
	// Subject is the authenticated user's DID; empty for anonymous tokens.
	Subject syntax.DID
	// Handle is the handle the user logged in with, for display and logs.
	Handle string
	// Access lists the granted actions per resource.
	Access []Access
}

// Anonymous reports whether the grant carries no user.
func (g *Grant) Anonymous() bool { return g == nil || g.Subject == "" }

// Allows reports whether the grant covers a, honouring the "*" action.
func (g *Grant) Allows(a Access) bool {
	if g == nil {
		return false
	}
	return slices.ContainsFunc(g.Access, func(have Access) bool {
		return have.Type == a.Type && have.Name == a.Name && (have.Action == a.Action || have.Action == ActionAll)
	})
}

// Controller decides whether a request may do what it asks. It returns the
// grant on success, a Challenge when the client should authenticate (or
// re-authenticate with more scope), and any other error for a malformed
// request.
type Controller interface {
	Authorized(r *http.Request, want ...Access) (*Grant, error)
}

// Challenge is an error that tells the client how to get a token. The
// registry answers it with 401 and the WWW-Authenticate header it sets.
type Challenge interface {
	error
	SetHeaders(r *http.Request, w http.ResponseWriter)
}

type grantKey struct{}

// WithGrant returns ctx carrying g.
func WithGrant(ctx context.Context, g *Grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// GrantFrom returns the grant stored by WithGrant, or nil.
func GrantFrom(ctx context.Context) *Grant {
	g, _ := ctx.Value(grantKey{}).(*Grant)
	return g
}
