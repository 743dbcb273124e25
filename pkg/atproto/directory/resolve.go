package directory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Sentinel errors of the helpers below.
var (
	// ErrInvalidIdentifier: the string is neither a valid handle nor a valid DID.
	ErrInvalidIdentifier = errors.New("not a handle or DID")
	// ErrNoPDS: the DID document declares no usable #atproto_pds endpoint.
	ErrNoPDS = errors.New("identity declares no usable PDS endpoint")
)

// ResolveIdentity parses a handle or DID and looks it up in dir. A handle
// result is bi-directionally verified; a DID result carries handle.invalid
// when its declared handle does not resolve back to it.
func ResolveIdentity(ctx context.Context, dir identity.Directory, atIdentifier string) (*identity.Identity, error) {
	atid, err := syntax.ParseAtIdentifier(atIdentifier)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrInvalidIdentifier, atIdentifier, err)
	}
	ident, err := dir.Lookup(ctx, atid.Normalize())
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", atid, err)
	}
	return ident, nil
}

// PDSEndpoint returns the identity's PDS base URL (scheme://host[:port], no
// trailing slash). It checks the shape only; the guarded client decides
// whether the address may be contacted.
func PDSEndpoint(ident *identity.Identity) (string, error) {
	raw := ident.PDSEndpoint()
	if raw == "" {
		return "", fmt.Errorf("%w: %s", ErrNoPDS, ident.DID)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: %s declares %q", ErrNoPDS, ident.DID, raw)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}
