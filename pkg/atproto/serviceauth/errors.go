package serviceauth

import (
	"errors"

	"atcr.io/pkg/atproto/xrpc"
)

// Sentinel errors returned (wrapped, with detail for logs) by Verify. Each
// maps to one XRPC error name; the detail is never sent to the caller.
var (
	ErrMissingToken     = errors.New("service auth token missing")
	ErrBadToken         = errors.New("service auth token malformed or not acceptable")
	ErrBadAlgorithm     = errors.New("service auth token algorithm not accepted")
	ErrLifetimeTooLong  = errors.New("service auth token lifetime too long")
	ErrExpired          = errors.New("service auth token expired")
	ErrBadAudience      = errors.New("service auth token audience mismatch")
	ErrBadLexiconMethod = errors.New("service auth token lexicon method mismatch")
	ErrBadIssuer        = errors.New("service auth token issuer unresolvable")
	ErrBadSignature     = errors.New("service auth token signature invalid")
)

// authErrors is the one table from failure to XRPC name and public message.
var authErrors = []struct {
	err     error
	name    string
	message string
}{
	{ErrMissingToken, "AuthRequired", "service auth token required"},
	{ErrBadToken, "BadJwt", "malformed or unacceptable service auth token"},
	{ErrBadAlgorithm, "BadJwt", "service auth token must be signed with ES256 or ES256K"},
	{ErrLifetimeTooLong, "BadJwt", "service auth token lifetime exceeds the allowed maximum"},
	{ErrExpired, "JwtExpired", "service auth token expired"},
	{ErrBadAudience, "BadJwtAudience", "service auth token audience does not match this service's DID"},
	{ErrBadLexiconMethod, "BadJwtLexiconMethod", "service auth token lexicon method (lxm) does not match the called method"},
	{ErrBadIssuer, "BadJwtIssuer", "service auth token issuer could not be resolved"},
	{ErrBadSignature, "BadJwtSignature", "service auth token signature does not match the issuer's signing key"},
}

// XRPCError maps a Verify failure to the 401 *xrpc.Error a server answers
// with. Any other error (a misconfigured Verifier) is returned unchanged, so
// xrpc.WriteError turns it into a 500.
func XRPCError(err error) error {
	for _, e := range authErrors {
		if errors.Is(err, e.err) {
			return xrpc.NewError(401, e.name, e.message)
		}
	}
	return err
}
