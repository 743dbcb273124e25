package auth

import (
	"crypto/sha256"
	"slices"
	"time"
	"unsafe"

	lru "github.com/hashicorp/golang-lru/v2"

	"atcr.io/pkg/appview/access"
)

// verifiedTokenCacheSize bounds the registry tokens remembered as
// verified: each active client holds one or a few at a time.
const verifiedTokenCacheSize = 8192

// verifiedTokens remembers the grants of registry tokens whose signature
// and claims checked out, by the token's SHA-256. Checking an ES256
// signature was over a third of the AppView's CPU time under a load of
// manifest GETs, every request of one client carrying the same token.
// A token is a pure function of our key: nothing revokes it before it
// expires, so a remembered token stays good until then; its lifetime is
// checked again on every use.
type verifiedTokens struct {
	cache *lru.Cache[[sha256.Size]byte, verifiedToken]
}

type verifiedToken struct {
	grant     access.Grant
	notBefore time.Time // the later of nbf and iat
	expires   time.Time
}

func newVerifiedTokens() *verifiedTokens {
	c, _ := lru.New[[sha256.Size]byte, verifiedToken](verifiedTokenCacheSize) // fails only for a size < 1
	return &verifiedTokens{cache: c}
}

// get returns a copy of the grant of a remembered token that is valid at
// now.
func (v *verifiedTokens) get(raw string, now time.Time) (*access.Grant, bool) {
	key := tokenKey(raw)
	t, ok := v.cache.Get(key)
	if !ok {
		return nil, false
	}
	if now.Before(t.notBefore) || !now.Before(t.expires) {
		v.cache.Remove(key)
		return nil, false // verified afresh, which says why it fails
	}
	g := t.grant
	g.Access = slices.Clone(g.Access)
	return &g, true
}

// add remembers a verified token's grant for its lifetime.
func (v *verifiedTokens) add(raw string, g *access.Grant, c *Claims) {
	if c.ExpiresAt == nil {
		return
	}
	t := verifiedToken{grant: *g, expires: c.ExpiresAt.Time}
	t.grant.Access = slices.Clone(g.Access)
	if c.NotBefore != nil {
		t.notBefore = c.NotBefore.Time
	}
	if c.IssuedAt != nil && c.IssuedAt.After(t.notBefore) {
		t.notBefore = c.IssuedAt.Time
	}
	v.cache.Add(tokenKey(raw), t)
}

// tokenKey is the SHA-256 of a raw token. It hashes the string's bytes in
// place: []byte(raw) would copy a token of several hundred bytes on every
// request (three quarters of the bytes a cached check allocated), and
// Sum256 only reads its argument.
func tokenKey(raw string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}
