package directory

import (
	"context"
	"strings"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// baseResolver is indigo's BaseDirectory as a resolver, with one repair:
// for a handle it does not look up in DNS (SkipDNSDomainSuffixes, e.g.
// *.bsky.social) a failed https well-known makes BaseDirectory.ResolveHandle
// return no DID and no error, the well-known's error dropped. The lookup
// then asked for the DID document of "" and failed with "DID method not
// supported", which callers took for an outage (502) instead of a handle
// that does not exist. Such handles are resolved here by the well-known
// alone, which is all BaseDirectory would do, and its error is kept.
type baseResolver struct {
	base *identity.BaseDirectory
}

func (r baseResolver) ResolveDID(ctx context.Context, did syntax.DID) (*identity.DIDDocument, error) {
	return r.base.ResolveDID(ctx, did)
}

func (r baseResolver) ResolveHandle(ctx context.Context, h syntax.Handle) (syntax.DID, error) {
	h = h.Normalize()
	if h.IsInvalidHandle() || !h.AllowedTLD() || !r.wellKnownOnly(h) {
		return r.base.ResolveHandle(ctx, h)
	}
	return r.base.ResolveHandleWellKnown(ctx, h)
}

// wellKnownOnly reports whether BaseDirectory skips DNS for h.
func (r baseResolver) wellKnownOnly(h syntax.Handle) bool {
	for _, suffix := range r.base.SkipDNSDomainSuffixes {
		if strings.HasSuffix(h.String(), suffix) {
			return true
		}
	}
	return false
}

// productionDirectory is BaseDirectory with handle lookups through
// baseResolver (and the same both-ways verification, verifyingDirectory).
type productionDirectory struct {
	*identity.BaseDirectory
}

func (d productionDirectory) LookupHandle(ctx context.Context, h syntax.Handle) (*identity.Identity, error) {
	v := verifyingDirectory{res: baseResolver{base: d.BaseDirectory}}
	return v.LookupHandle(ctx, h)
}

func (d productionDirectory) Lookup(ctx context.Context, atid syntax.AtIdentifier) (*identity.Identity, error) {
	return lookupAny(ctx, d, atid)
}
