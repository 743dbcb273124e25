package pdstest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/golang-jwt/jwt/v5"
)

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Identifier string `json:"identifier"`
		Password   string `json:"password"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "bad body")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var acct *Account
	for _, a := range s.accounts {
		if a.DID.String() == in.Identifier || a.Handle.String() == in.Identifier {
			acct = &a
			break
		}
	}
	var scope string
	switch {
	case acct == nil:
	case acct.AppPassword != "" && in.Password == acct.AppPassword:
		scope = ScopeAppPass
	case acct.Password != "" && in.Password == acct.Password:
		scope = ScopeAccess
	}
	if scope == "" {
		writeError(w, http.StatusUnauthorized, "AuthenticationRequired", "Invalid identifier or password")
		return
	}
	access, refresh := s.newSession(acct.DID.String(), scope)
	out := map[string]any{"accessJwt": access, "refreshJwt": refresh, "did": acct.DID, "handle": acct.Handle,
		"active": !acct.Inactive}
	if acct.Inactive {
		out["status"] = "deactivated"
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) refreshSession(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay := s.refreshDelay
	s.mu.Unlock()
	time.Sleep(delay)

	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.bearer(w, r, scopeRefresh)
	if c == nil {
		return
	}
	if s.usedRefresh[c.ID] {
		writeError(w, http.StatusBadRequest, "ExpiredToken", "Token has been revoked")
		return
	}
	s.usedRefresh[c.ID] = true
	acct := s.accounts[syntax.DID(c.Subject)]
	scope := ScopeAppPass
	if acct.AppPassword == "" {
		scope = ScopeAccess
	}
	access, refresh := s.newSession(c.Subject, scope)
	writeJSON(w, http.StatusOK, map[string]any{"accessJwt": access, "refreshJwt": refresh, "did": c.Subject,
		"handle": acct.Handle, "active": true})
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.bearer(w, r, scopeRefresh)
	if c == nil {
		return
	}
	s.usedRefresh[c.ID] = true
	w.WriteHeader(http.StatusOK)
}

func (s *Server) getServiceAuth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.bearer(w, r, ScopeAppPass, ScopeAccess)
	if c == nil {
		return
	}
	q := r.URL.Query()
	aud, lxm := q.Get("aud"), q.Get("lxm")
	if _, err := syntax.ParseDID(aud); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "aud must be a valid atproto DID")
		return
	}
	now := s.now()
	exp := now.Add(time.Minute)
	if raw := q.Get("exp"); raw != "" {
		secs, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "InvalidRequest", "bad exp")
			return
		}
		exp = time.Unix(secs, 0)
		switch diff := exp.Sub(now); {
		case diff < 0:
			writeError(w, http.StatusBadRequest, "BadExpiration", "expiration is in past")
			return
		case diff > time.Hour:
			writeError(w, http.StatusBadRequest, "BadExpiration", "cannot request a token with an expiration more than an hour in the future")
			return
		case lxm == "" && diff > time.Minute:
			writeError(w, http.StatusBadRequest, "BadExpiration", "cannot request a method-less token with an expiration more than a minute in the future")
			return
		}
	}
	token := s.sign(claims{LXM: lxm, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: c.Subject, Audience: jwt.ClaimStrings{aud}, ExpiresAt: jwt.NewNumericDate(exp)}})
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}
