package pdssession

import (
	"context"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ServiceToken returns a service-auth token minted by did's PDS
// (com.atproto.server.getServiceAuth) for calling method lxm on the service
// aud. Tokens are cached per (did, aud, lxm) until ServiceTokenMargin before
// they expire; concurrent misses for one key make one PDS call (see
// pkg/appview/servicetoken). lxm is required: a token bound to a method is
// the narrowest the PDS issues.
func (p *Provider) ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error) {
	return p.tokens.Token(ctx, did, aud, lxm)
}
