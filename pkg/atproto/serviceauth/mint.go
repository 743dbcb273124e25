package serviceauth

import (
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	atauth "github.com/bluesky-social/indigo/atproto/auth"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Mint signs a service-auth token as a PDS would: iss, aud, lxm (omitted when
// empty), iat, exp = now+ttl and a random jti. For tests and tools; in
// production the caller's PDS mints tokens.
func Mint(key atcrypto.PrivateKey, iss, aud syntax.DID, lxm string, ttl time.Duration) (string, error) {
	var method *syntax.NSID
	if lxm != "" {
		nsid, err := syntax.ParseNSID(lxm)
		if err != nil {
			return "", fmt.Errorf("mint service auth: lxm %q: %w", lxm, err)
		}
		method = &nsid
	}
	token, err := atauth.SignServiceAuth(iss, aud.String(), ttl, method, key)
	if err != nil {
		return "", fmt.Errorf("mint service auth for %s: %w", iss, err)
	}
	return token, nil
}
