package appoauth

import (
	"context"
	"errors"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// SessionProvider is what the registry needs to act as a user: a PDS
// client and hold service tokens. pdssession.Provider (app passwords)
// implements it, and so does Sessions.
type SessionProvider interface {
	Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error)
	ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error)
}

// Sessions is the registry's one session provider: it prefers the user's
// OAuth session and falls back to the app-password session (the
// pdssession.Provider the token endpoint fills), so `docker login` with an
// app password keeps working for users who never signed in through the
// browser. When neither exists, the fallback's error is returned
// (pdssession.ErrNoSession, which the registry answers with 401).
type Sessions struct {
	oauth    *Client
	fallback SessionProvider
}

var _ SessionProvider = (*Sessions)(nil)

// NewSessions combines the OAuth client with the app-password provider.
func NewSessions(oauth *Client, fallback SessionProvider) *Sessions {
	return &Sessions{oauth: oauth, fallback: fallback}
}

// Client returns a PDS client for did: through its OAuth session if it has
// one, otherwise through its app-password session.
func (s *Sessions) Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error) {
	c, err := s.oauth.APIClient(ctx, did)
	if errors.Is(err, ErrNoOAuthSession) {
		return s.fallback.Client(ctx, did)
	}
	return c, err
}

// ServiceToken returns a service token for (aud, lxm) minted through did's
// OAuth session if it has one and its grant covers lxm, otherwise through
// its app-password session. Without either the fallback's error (no
// session: 401, log in again) is returned; a new login asks for the
// current scopes.
func (s *Sessions) ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error) {
	tok, err := s.oauth.ServiceToken(ctx, did, aud, lxm)
	if errors.Is(err, ErrNoOAuthSession) || errors.Is(err, ErrInsufficientScope) {
		return s.fallback.ServiceToken(ctx, did, aud, lxm)
	}
	return tok, err
}
