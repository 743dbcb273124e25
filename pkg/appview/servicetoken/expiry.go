package servicetoken

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Expiry returns the exp claim of a JWT a PDS handed us over TLS, read
// without verification, or the zero time when the token is not a JWT or
// carries no exp. The AppView does not hold the PDS's keys and does not
// need to: the claim only schedules refreshes and cache lifetimes.
func Expiry(token string) time.Time {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil || c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Time
}
