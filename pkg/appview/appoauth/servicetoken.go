package appoauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ErrInsufficientScope is returned (wrapped) by ServiceToken when the PDS
// refuses the OAuth session a token for the method (HTTP 403: the grant
// has no matching rpc scope).
var ErrInsufficientScope = errors.New("the OAuth grant does not cover this method")

// ServiceToken returns a service-auth token minted through did's OAuth
// session (com.atproto.server.getServiceAuth) for calling lxm on aud. The
// grant must hold rpc:<lxm>?aud=* (or aud=<aud>#fragment). Tokens are cached
// per (did, aud, lxm) until ServiceTokenMargin before they expire, and
// concurrent misses for one key make one PDS call (see
// pkg/appview/servicetoken). An error wrapping ErrNoOAuthSession means the
// account has no usable session, one wrapping ErrInsufficientScope that its
// grant does not cover lxm.
func (c *Client) ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error) {
	tok, err := c.tokens.Token(ctx, did, aud, lxm)
	// Only getServiceAuth answers with an APIError: APIClient's own
	// failures (no session, refused refresh) are plain errors.
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden {
		// The grant lacks rpc:<lxm> (an older login, or a PDS that dropped
		// the scope): Sessions falls back to an app-password session.
		return "", fmt.Errorf("%w: %w", ErrInsufficientScope, err)
	}
	return tok, err
}
