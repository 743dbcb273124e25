package apppassword

import "github.com/golang-jwt/jwt/v5"

// Unverified reads of tokens the PDS handed us over TLS (servicetoken.Expiry
// reads their exp). The AppView does not hold the PDS's keys and does not
// need to: these claims only schedule refreshes and pick session kinds, and
// the PDS checks its tokens itself.

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
