package appoauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ErrInsufficientScope is returned (wrapped) by ServiceToken when the PDS
// refuses the OAuth session a token for the method (HTTP 403: the grant
// has no matching rpc scope).
var ErrInsufficientScope = errors.New("the OAuth grant does not cover this method")

// tokenKey identifies a cached service token.
type tokenKey struct {
	did, aud syntax.DID
	lxm      syntax.NSID
}

type serviceToken struct {
	token   string
	expires time.Time
}

// ServiceToken returns a service-auth token minted through did's OAuth
// session (com.atproto.server.getServiceAuth) for calling lxm on aud. The
// grant must hold rpc:<lxm>?aud=* (or aud=<aud>#fragment). Tokens are cached
// per (did, aud, lxm) until ServiceTokenMargin before they expire, and
// concurrent misses for one key make one PDS call. An error wrapping
// ErrNoOAuthSession means the account has no usable session, one wrapping
// ErrInsufficientScope that its grant does not cover lxm.
func (c *Client) ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error) {
	if lxm == "" {
		return "", fmt.Errorf("service token for %s to %s: lxm is required", did, aud)
	}
	key := tokenKey{did: did, aud: aud, lxm: lxm}
	if tok, ok := c.cachedToken(key); ok {
		return tok, nil
	}
	ch := c.minting.DoChan(did.String()+" "+aud.String()+" "+lxm.String(), func() (any, error) {
		if tok, ok := c.cachedToken(key); ok {
			return tok, nil
		}
		// Detached: the result serves every caller waiting on this flight.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return c.mint(ctx, key)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("service token for %s to %s: %w", did, aud, ctx.Err())
	}
}

func (c *Client) cachedToken(key tokenKey) (string, bool) {
	tok, ok := c.tokens.Get(key)
	if !ok || !c.now().Before(tok.expires.Add(-c.tokenMargin)) {
		return "", false
	}
	return tok.token, true
}

// mint asks the PDS for a token and caches it.
func (c *Client) mint(ctx context.Context, key tokenKey) (string, error) {
	api, err := c.APIClient(ctx, key.did)
	if err != nil {
		return "", err
	}
	exp := c.now().Add(c.tokenTTL)
	params := map[string]any{"aud": key.aud.String(), "lxm": key.lxm.String(), "exp": exp.Unix()}
	var out struct {
		Token string `json:"token"`
	}
	err = api.Get(ctx, "com.atproto.server.getServiceAuth", params, &out)
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) && apiErr.Name == "BadExpiration" {
		// Our clock and the PDS's disagree; its default lifetime (60 s) is
		// always acceptable.
		delete(params, "exp")
		exp = c.now().Add(time.Minute)
		err = api.Get(ctx, "com.atproto.server.getServiceAuth", params, &out)
	}
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden {
		// The grant lacks rpc:<lxm> (an older login, or a PDS that dropped
		// the scope): Sessions falls back to an app-password session.
		return "", fmt.Errorf("%w: getServiceAuth for %s (aud %s, lxm %s): %w", ErrInsufficientScope, key.did, key.aud, key.lxm, err)
	}
	if err != nil {
		return "", fmt.Errorf("getServiceAuth for %s (aud %s, lxm %s) through OAuth: %w", key.did, key.aud, key.lxm, err)
	}
	if out.Token == "" {
		return "", fmt.Errorf("getServiceAuth for %s (aud %s, lxm %s): empty token", key.did, key.aud, key.lxm)
	}
	if tokExp := tokenExpiry(out.Token); !tokExp.IsZero() && tokExp.Before(exp) {
		exp = tokExp
	}
	c.tokens.Add(key, serviceToken{token: out.Token, expires: exp})
	return out.Token, nil
}
