package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/golang-jwt/jwt/v5"

	"atcr.io/pkg/appview/access"
)

// maxTokenBytes bounds a bearer token before it is parsed. A token with the
// maximum number of scopes stays well below it.
const maxTokenBytes = 32 << 10

// signingMethod is the only algorithm issued and accepted.
var signingMethod = jwt.SigningMethodES256

// ResourceActions is one entry of the access claim, as distribution's token
// auth defines it: {"type":"repository","name":"alice.test/app","actions":["pull","push"]}.
type ResourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// Claims are the registry token's claims: iss and aud are the service name,
// sub the user's DID (absent for anonymous tokens), exp/iat/nbf/jti, the
// access list, and the handle the user logged in as (for logs and display).
type Claims struct {
	jwt.RegisteredClaims
	Access []ResourceActions `json:"access"`
	Handle string            `json:"handle,omitempty"`
}

// Token is an issued registry token.
type Token struct {
	Raw       string
	IssuedAt  time.Time
	ExpiresIn time.Duration
}

// issueToken signs a registry token carrying g.
func (s *Service) issueToken(g *access.Grant) (Token, error) {
	now := s.now().Truncate(time.Second)
	jti, err := randomID()
	if err != nil {
		return Token{}, err
	}
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.service,
			Subject:   g.Subject.String(),
			Audience:  jwt.ClaimStrings{s.service},
			ExpiresAt: jwt.NewNumericDate(now.Add(s.tokenTTL)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti,
		},
		Access: groupAccess(g.Access),
		Handle: g.Handle,
	}
	raw, err := jwt.NewWithClaims(signingMethod, claims).SignedString(s.key)
	if err != nil {
		return Token{}, fmt.Errorf("sign registry token: %w", err)
	}
	return Token{Raw: raw, IssuedAt: now, ExpiresIn: s.tokenTTL}, nil
}

// verifyToken checks a registry token against this service's key, algorithm,
// issuer, audience and lifetime, and returns its grant.
func (s *Service) verifyToken(raw string) (*access.Grant, error) {
	if len(raw) > maxTokenBytes {
		return nil, fmt.Errorf("registry token of %d bytes exceeds %d", len(raw), maxTokenBytes)
	}
	if g, ok := s.verified.get(raw, s.now()); ok {
		return g, nil
	}
	claims, err := s.parseToken(raw)
	if err != nil {
		return nil, fmt.Errorf("registry token: %w", err)
	}
	g := &access.Grant{Handle: claims.Handle}
	if claims.Subject != "" {
		did, err := syntax.ParseDID(claims.Subject)
		if err != nil {
			return nil, fmt.Errorf("registry token: sub: %w", err)
		}
		g.Subject = did
	}
	if claims.Access == nil {
		return nil, errors.New("registry token: no access claim")
	}
	for _, ra := range claims.Access {
		for _, action := range ra.Actions {
			g.Access = append(g.Access, access.Access{Type: ra.Type, Name: ra.Name, Action: action})
		}
	}
	s.verified.add(raw, g, claims)
	return g, nil
}

// parseToken verifies raw's ES256 signature with our own key and validates
// its claims. The signature is checked with signingMethod itself rather than
// through golang-jwt's global algorithm registry: libraries linked into the
// same binary re-register "ES256" (indigo's OAuth client does, for its own
// key types), and our verification must not depend on who won.
func (s *Service) parseToken(raw string) (*Claims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, jwt.ErrTokenMalformed
	}
	parser := jwt.NewParser()
	var claims Claims
	tok, _, err := parser.ParseUnverified(raw, &claims)
	if err != nil {
		return nil, err
	}
	if alg, _ := tok.Header["alg"].(string); alg != signingMethod.Alg() {
		return nil, fmt.Errorf("%w: alg %q, want %s", jwt.ErrTokenSignatureInvalid, alg, signingMethod.Alg())
	}
	sig, err := parser.DecodeSegment(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", jwt.ErrTokenMalformed, err)
	}
	if err := signingMethod.Verify(parts[0]+"."+parts[1], sig, &s.key.PublicKey); err != nil {
		return nil, fmt.Errorf("%w: %v", jwt.ErrTokenSignatureInvalid, err)
	}
	validator := jwt.NewValidator(
		jwt.WithIssuer(s.service),
		jwt.WithAudience(s.service),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now),
	)
	if err := validator.Validate(&claims); err != nil {
		return nil, err
	}
	return &claims, nil
}

// groupAccess folds a flat access list into the claim's per-resource form,
// keeping the first-seen resource order, with sorted unique actions. The
// result is never nil: an empty token says "access": [].
func groupAccess(list []access.Access) []ResourceActions {
	out := []ResourceActions{}
	index := map[[2]string]int{}
	for _, a := range list {
		k := [2]string{a.Type, a.Name}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, ResourceActions{Type: a.Type, Name: a.Name})
		}
		if !slices.Contains(out[i].Actions, a.Action) {
			out[i].Actions = append(out[i].Actions, a.Action)
		}
	}
	for i := range out {
		slices.Sort(out[i].Actions)
	}
	return out
}

// randomID returns a 128-bit random jti.
func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
