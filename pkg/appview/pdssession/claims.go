package pdssession

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Unverified reads of tokens the PDS handed us over TLS. The AppView does
// not hold the PDS's keys and does not need to: these claims only schedule
// refreshes and cache lifetimes, and the PDS checks its tokens itself.

// tokenExpiry returns the exp claim of a JWT, or the zero time when the
// token is not a JWT or carries no exp.
func tokenExpiry(token string) time.Time {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil || c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Time
}

// tokenScope returns the scope claim the reference PDS puts in session
// tokens ("com.atproto.appPass", "com.atproto.access", ...), or "".
func tokenScope(token string) string {
	var c struct {
		jwt.RegisteredClaims
		Scope string `json:"scope"`
	}
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return ""
	}
	return c.Scope
}
