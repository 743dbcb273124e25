package serviceauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/golang-jwt/jwt/v5"
)

// Defaults applied when the matching Verifier field is zero.
const (
	DefaultLeeway      = 10 * time.Second
	DefaultMaxLifetime = time.Hour // getServiceAuth issues at most 1h
	maxTokenBytes      = 8 << 10
)

// Verifier checks service-auth JWTs addressed to one service. Set the
// exported fields before first use and do not copy it afterwards.
type Verifier struct {
	// Audience is this service's DID; tokens must name it in aud.
	Audience syntax.DID
	// ServiceID, when set (e.g. "atcr_hold"), also accepts aud
	// "<Audience>#<ServiceID>": granular OAuth rpc: scopes only let a PDS
	// mint tokens for a DID with a service fragment.
	ServiceID string
	// Dir resolves issuers' DID documents (the caching directory).
	Dir identity.Directory
	// Leeway is the clock skew allowed on exp and iat. Default 10s.
	Leeway time.Duration
	// MaxLifetime refuses tokens whose exp lies further ahead (of now or of
	// iat) than this; a stolen long-lived token is worth more. Default 1h.
	MaxLifetime time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time

	purges   purgeLimiter
	verified verifiedSignatures
}

type claims struct {
	jwt.RegisteredClaims
	LXM string `json:"lxm,omitempty"`
}

// Token types that are other kinds of atproto JWT and must never pass as
// service auth, whatever their signature.
var foreignTypes = map[string]bool{"at+jwt": true, "refresh+jwt": true, "dpop+jwt": true}

// Verify checks token for a call of method lxm and returns the caller's DID
// (the issuer, without any #service fragment).
func (v *Verifier) Verify(ctx context.Context, token string, lxm syntax.NSID) (syntax.DID, error) {
	if v.Audience == "" || v.Dir == nil {
		return "", errors.New("serviceauth: Verifier needs Audience and Dir")
	}
	if token == "" {
		return "", ErrMissingToken
	}
	if len(token) > maxTokenBytes {
		return "", fmt.Errorf("%w: %d bytes", ErrBadToken, len(token))
	}
	var c claims
	parsed, parts, err := jwt.NewParser().ParseUnverified(token, &c)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	alg, _ := parsed.Header["alg"].(string)
	if alg != "ES256" && alg != "ES256K" {
		return "", fmt.Errorf("%w: %q", ErrBadAlgorithm, alg)
	}
	if typ, _ := parsed.Header["typ"].(string); foreignTypes[strings.ToLower(typ)] {
		return "", fmt.Errorf("%w: typ %q", ErrBadToken, typ)
	}

	now := v.now()
	if err := v.checkClaims(&c, lxm, now); err != nil {
		return "", err
	}
	did, err := issuerDID(c.Issuer)
	if err != nil {
		return "", err
	}

	signingInput := parts[0] + "." + parts[1]
	err = v.checkSignature(ctx, did, alg, signingInput, parsed.Signature)
	if errors.Is(err, ErrBadSignature) && v.purges.allow(did, now) {
		// The key may have rotated since the document was cached: refetch
		// once. Rate-limited per DID, so bad tokens cannot make us hammer
		// the PLC directory or a did:web host.
		if perr := v.Dir.Purge(ctx, did.AtIdentifier()); perr == nil {
			err = v.checkSignature(ctx, did, alg, signingInput, parsed.Signature)
		}
	}
	if err != nil {
		return "", err
	}
	return did, nil
}

func (v *Verifier) checkClaims(c *claims, lxm syntax.NSID, now time.Time) error {
	leeway := v.Leeway
	if leeway <= 0 {
		leeway = DefaultLeeway
	}
	maxLife := v.MaxLifetime
	if maxLife <= 0 {
		maxLife = DefaultMaxLifetime
	}
	validator := jwt.NewValidator(
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err := validator.Validate(c); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return fmt.Errorf("%w: %w", ErrExpired, err)
		}
		return fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	exp := c.ExpiresAt.Time
	if exp.Sub(now) > maxLife+leeway {
		return fmt.Errorf("%w: expires in %s, max %s", ErrLifetimeTooLong, exp.Sub(now).Round(time.Second), maxLife)
	}
	if c.IssuedAt != nil && exp.Sub(c.IssuedAt.Time) > maxLife+leeway {
		return fmt.Errorf("%w: exp-iat %s, max %s", ErrLifetimeTooLong, exp.Sub(c.IssuedAt.Time), maxLife)
	}
	if len(c.Audience) != 1 || !v.audienceOK(c.Audience[0]) {
		return fmt.Errorf("%w: %q", ErrBadAudience, []string(c.Audience))
	}
	if c.LXM != lxm.String() {
		return fmt.Errorf("%w: token %q, called %q", ErrBadLexiconMethod, c.LXM, lxm)
	}
	return nil
}

func (v *Verifier) audienceOK(aud string) bool {
	if aud == v.Audience.String() {
		return true
	}
	return v.ServiceID != "" && aud == v.Audience.String()+"#"+v.ServiceID
}

// issuerDID accepts "did:…" or "did:…#service" (the spec allows a service
// fragment on iss) and returns the bare DID: the account whose #atproto key
// must have signed the token.
func issuerDID(iss string) (syntax.DID, error) {
	bare, fragment, hasFragment := strings.Cut(iss, "#")
	if hasFragment && !validFragment(fragment) {
		return "", fmt.Errorf("%w: iss fragment %q", ErrBadIssuer, fragment)
	}
	did, err := syntax.ParseDID(bare)
	if err != nil {
		return "", fmt.Errorf("%w: iss %q: %w", ErrBadIssuer, iss, err)
	}
	return did, nil
}

func validFragment(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// checkSignature verifies against the #atproto key of the issuer's DID
// document, requiring the header alg to match the key's curve.
func (v *Verifier) checkSignature(ctx context.Context, did syntax.DID, alg, signingInput string, sig []byte) error {
	ident, err := v.Dir.LookupDID(ctx, did)
	if err != nil {
		return fmt.Errorf("%w: resolve %s: %w", ErrBadIssuer, did, err)
	}
	key, err := ident.PublicKey()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadIssuer, did, err)
	}
	switch key.(type) {
	case *atcrypto.PublicKeyP256:
		if alg != "ES256" {
			return fmt.Errorf("%w: alg %s with a P-256 key", ErrBadSignature, alg)
		}
	case *atcrypto.PublicKeyK256:
		if alg != "ES256K" {
			return fmt.Errorf("%w: alg %s with a K-256 key", ErrBadSignature, alg)
		}
	default:
		return fmt.Errorf("%w: %s: unsupported key type %T", ErrBadIssuer, did, key)
	}
	if len(sig) != 64 {
		return fmt.Errorf("%w: signature is %d bytes", ErrBadSignature, len(sig))
	}
	memo := verifiedKey(key.Bytes(), signingInput, sig)
	if v.verified.seen(memo) {
		return nil
	}
	// Lenient: JWT signers are not required to produce low-S signatures.
	if err := key.HashAndVerifyLenient([]byte(signingInput), sig); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	v.verified.add(memo)
	return nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}
