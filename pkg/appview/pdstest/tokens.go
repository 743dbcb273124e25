package pdstest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// claims of the fake's session and service tokens.
type claims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope,omitempty"`
	LXM   string `json:"lxm,omitempty"`
}

// sign issues a token; the caller holds s.mu.
func (s *Server) sign(c claims) string {
	s.jtiCounter++
	c.ID = fmt.Sprintf("jti-%d", s.jtiCounter)
	c.IssuedAt = jwt.NewNumericDate(s.now())
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
	if err != nil {
		panic(fmt.Sprintf("pdstest: sign: %v", err))
	}
	return tok
}

// newSession issues an access and a refresh token; the caller holds s.mu.
func (s *Server) newSession(did, scope string) (access, refresh string) {
	now := s.now()
	access = s.sign(claims{Scope: scope, RegisteredClaims: jwt.RegisteredClaims{
		Subject: did, ExpiresAt: jwt.NewNumericDate(now.Add(s.accessTTL))}})
	refresh = s.sign(claims{Scope: scopeRefresh, RegisteredClaims: jwt.RegisteredClaims{
		Subject: did, ExpiresAt: jwt.NewNumericDate(now.Add(90 * 24 * time.Hour))}})
	return access, refresh
}

// bearer verifies the request's bearer token against the fake's clock and
// wants one of scopes. On failure it writes the reference PDS's error and
// returns nil.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request, scopes ...string) *claims {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		writeError(w, http.StatusUnauthorized, "AuthMissing", "Authentication Required")
		return nil
	}
	var c claims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		writeError(w, http.StatusBadRequest, "ExpiredToken", "Token has expired")
		return nil
	case err != nil:
		writeError(w, http.StatusBadRequest, "InvalidToken", "Token could not be verified")
		return nil
	}
	if upTo, ok := s.revokedUpTo[c.Subject]; ok && c.IssuedAt != nil && !c.IssuedAt.After(upTo) {
		writeError(w, http.StatusBadRequest, "ExpiredToken", "Token has been revoked")
		return nil
	}
	for _, sc := range scopes {
		if c.Scope == sc {
			return &c
		}
	}
	writeError(w, http.StatusBadRequest, "InvalidToken", "Bad token scope")
	return nil
}
