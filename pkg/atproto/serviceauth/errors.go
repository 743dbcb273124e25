package serviceauth

import (
	"errors"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"

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

// issuerRetryAfter is the Retry-After of an issuer whose identity could not
// be fetched (its PLC directory or did:web host failing).
const issuerRetryAfter = 10 * time.Second

// XRPCError maps a Verify failure to the *xrpc.Error a server answers with:
// an XRPC error the identity directory returned (429 RateLimitExceeded
// from a rate-limited lookup) as is; an issuer whose identity could not be
// fetched — the PLC directory or did:web host failing, not a document
// that says no — as 502 UpstreamFailure with Retry-After, since the token
// may be fine; every other failure as 401. Any other error (a
// misconfigured Verifier) is returned unchanged, so xrpc.WriteError turns
// it into a 500.
func XRPCError(err error) error {
	var xe *xrpc.Error
	if errors.As(err, &xe) {
		return xe
	}
	if errors.Is(err, ErrBadIssuer) && errors.Is(err, identity.ErrDIDResolutionFailed) &&
		!errors.Is(err, identity.ErrDIDNotFound) { // a host the directory refuses: never resolvable
		return xrpc.UpstreamFailure("the token issuer's identity could not be fetched (PLC directory or did:web host)").
			WithRetryAfter(issuerRetryAfter)
	}
	for _, e := range authErrors {
		if errors.Is(err, e.err) {
			return xrpc.NewError(401, e.name, e.message)
		}
	}
	return err
}
