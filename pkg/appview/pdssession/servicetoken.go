package pdssession

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// tokenKey identifies a cached service token.
type tokenKey struct {
	did, aud syntax.DID
	lxm      syntax.NSID
}

type serviceToken struct {
	token   string
	expires time.Time
}

// ServiceToken returns a service-auth token minted by did's PDS
// (com.atproto.server.getServiceAuth) for calling method lxm on the service
// aud. Tokens are cached per (did, aud, lxm) until ServiceTokenMargin before
// they expire; concurrent misses for one key make one PDS call. lxm is
// required: a token bound to a method is the narrowest the PDS issues.
func (p *Provider) ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error) {
	if lxm == "" {
		return "", fmt.Errorf("service token for %s to %s: lxm is required", did, aud)
	}
	key := tokenKey{did: did, aud: aud, lxm: lxm}
	if tok, ok := p.cachedToken(key); ok {
		return tok, nil
	}
	ch := p.minting.DoChan(key.did.String()+" "+key.aud.String()+" "+key.lxm.String(), func() (any, error) {
		if tok, ok := p.cachedToken(key); ok {
			return tok, nil
		}
		// Detached: the token serves every caller waiting on this flight,
		// not only the one whose request started it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pdsCallTimeout)
		defer cancel()
		return p.mint(ctx, key)
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

func (p *Provider) cachedToken(key tokenKey) (string, bool) {
	tok, ok := p.tokens.Get(key)
	if !ok || !p.now().Before(tok.expires.Add(-p.tokenMargin)) {
		return "", false
	}
	return tok.token, true
}

// mint asks the PDS for a token and caches it.
func (p *Provider) mint(ctx context.Context, key tokenKey) (string, error) {
	c, err := p.Client(ctx, key.did)
	if err != nil {
		return "", err
	}
	exp := p.now().Add(p.tokenTTL)
	params := map[string]any{"aud": key.aud.String(), "lxm": key.lxm.String(), "exp": exp.Unix()}
	var out struct {
		Token string `json:"token"`
	}
	err = c.Get(ctx, "com.atproto.server.getServiceAuth", params, &out)
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) && apiErr.Name == "BadExpiration" {
		// Our clock and the PDS's disagree by more than the margin the PDS
		// allows; its default lifetime (60 s) is always acceptable.
		delete(params, "exp")
		exp = p.now().Add(time.Minute)
		err = c.Get(ctx, "com.atproto.server.getServiceAuth", params, &out)
	}
	if err != nil {
		return "", fmt.Errorf("getServiceAuth for %s (aud %s, lxm %s): %w", key.did, key.aud, key.lxm, err)
	}
	if out.Token == "" {
		return "", fmt.Errorf("getServiceAuth for %s (aud %s, lxm %s): empty token", key.did, key.aud, key.lxm)
	}
	// The token's own exp wins when it is earlier than what we asked for.
	if tokExp := tokenExpiry(out.Token); !tokExp.IsZero() && tokExp.Before(exp) {
		exp = tokExp
	}
	p.tokens.Add(key, serviceToken{token: out.Token, expires: exp})
	return out.Token, nil
}
