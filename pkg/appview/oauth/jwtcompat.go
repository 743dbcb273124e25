package appoauth

import "github.com/golang-jwt/jwt/v5"

// indigo's oauth package registers its own "ES256" signing method with
// golang-jwt in an init function, replacing the library's. The replacement
// verifies only atcrypto keys, so in any binary that links indigo's oauth
// package every other jwt.Parse of an ES256 token with an *ecdsa.PublicKey
// fails with "key is of invalid type" — the AppView's own registry JWTs
// (pkg/appview/auth) among them. indigo signs with its method value
// directly and never looks "ES256" up, so restoring the library's method
// is safe for it. This init runs after indigo's, because a package's
// imports are initialised before it.
func init() {
	jwt.RegisterSigningMethod(jwt.SigningMethodES256.Alg(), func() jwt.SigningMethod { return jwt.SigningMethodES256 })
}
