package xrpc

import (
	"net/http"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Auth says who may call a Route. The server that mounts the route turns it
// into middleware; the handler behind it never repeats the check.
type Auth int

const (
	// Public routes are open to anyone, with or without a token.
	Public Auth = iota
	// ServiceAuth routes need a valid service-auth token whose lxm is the
	// route's NSID. The handler reads the verified caller from the request
	// context and makes its own access decision.
	ServiceAuth
	// Readers routes take a service-auth token when one is sent (anonymous
	// callers otherwise), then admit the callers the server's read policy
	// allows: on the hold, blob reads.
	Readers
	// Admins routes need a service-auth token, then admit the callers the
	// server's admin policy allows: on the hold, writes to its repository.
	Admins
)

// Route is one endpoint a package serves: the HTTP method, where it is
// served, who may call it and the handler. Packages list their routes; the
// server mounts every list in one place.
type Route struct {
	Method string // http.MethodGet for queries, http.MethodPost for procedures
	// NSID is the XRPC method, served at /xrpc/<NSID>.
	NSID syntax.NSID
	// Path is set instead of NSID for the few endpoints outside the XRPC
	// namespace (/.well-known/did.json, health checks).
	Path    string
	Auth    Auth
	Handler http.Handler
}

// URLPath is where the route is served: /xrpc/<NSID>, or Path.
func (r Route) URLPath() string {
	if r.NSID != "" {
		return "/xrpc/" + r.NSID.String()
	}
	return r.Path
}
