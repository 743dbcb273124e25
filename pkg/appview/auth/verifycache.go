package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// verifyCacheSize bounds the verification cache.
const verifyCacheSize = 10_000

// CachingVerifier remembers successful checks of an inner verifier for a
// short TTL, so that each docker command does not cost a createSession on
// the user's PDS, and throttles repeated failures per account and client
// (loginthrottle.go). Entries are keyed by HMAC-SHA256(per-process secret,
// DID, credential): the credential itself is never stored. Failures are
// never cached as success, and a cached success still needs the same
// credential; it is answered before the throttle, so a throttled account's
// owner keeps working. Concurrent identical checks share one call to the
// inner verifier.
type CachingVerifier struct {
	inner   CredentialVerifier
	dir     identity.Directory
	ttl     time.Duration
	now     func() time.Time
	hmacKey [32]byte

	cache    *lru.Cache[[sha256.Size]byte, cachedIdentity]
	flights  singleflight.Group
	throttle *loginThrottle
}

type cachedIdentity struct {
	id      Identity
	expires time.Time
}

var _ CredentialVerifier = (*CachingVerifier)(nil)

// NewCachingVerifier wraps inner. dir resolves usernames to DIDs for the
// cache key; now defaults to time.Now.
func NewCachingVerifier(inner CredentialVerifier, dir identity.Directory, ttl time.Duration, now func() time.Time) (*CachingVerifier, error) {
	if inner == nil || dir == nil || ttl <= 0 {
		return nil, errors.New("caching verifier: inner, directory and a positive TTL are required")
	}
	if now == nil {
		now = time.Now
	}
	v := &CachingVerifier{inner: inner, dir: dir, ttl: ttl, now: now}
	if _, err := rand.Read(v.hmacKey[:]); err != nil {
		return nil, fmt.Errorf("caching verifier: key: %w", err)
	}
	var err error
	if v.cache, err = lru.New[[sha256.Size]byte, cachedIdentity](verifyCacheSize); err != nil {
		return nil, fmt.Errorf("caching verifier: %w", err)
	}
	if v.throttle, err = newLoginThrottle(now, nil, ""); err != nil {
		return nil, fmt.Errorf("caching verifier: %w", err)
	}
	return v, nil
}

// ShareFailures makes the failed-login counters live in Redis under
// prefix, shared with the other AppViews using it, so an attacker cannot
// multiply the limits by the number of AppViews. Call it before the first
// Verify. The cache of successful checks stays in this process: it is
// keyed by an HMAC of the password under a key that never leaves it.
func (v *CachingVerifier) ShareFailures(rdb redis.UniversalClient, prefix string) error {
	t, err := newLoginThrottle(v.now, rdb, prefix)
	if err != nil {
		return fmt.Errorf("caching verifier: %w", err)
	}
	v.throttle = t
	return nil
}

// Verify answers from the cache when it can and asks inner otherwise.
func (v *CachingVerifier) Verify(ctx context.Context, attempt LoginAttempt) (*Identity, error) {
	ident, err := ResolveLogin(ctx, v.dir, attempt.Username)
	if err != nil {
		return nil, err
	}
	key := v.key(ident.DID, attempt.Credential)
	if hit, ok := v.cache.Get(key); ok && v.now().Before(hit.expires) {
		v.throttle.succeeded(ident.DID, attempt.ClientAddr)
		id := hit.id
		return &id, nil
	}
	if err := v.throttle.allow(ident.DID, attempt.ClientAddr); err != nil {
		return nil, err
	}
	res, err, _ := v.flights.Do(string(key[:]), func() (any, error) {
		id, err := v.inner.Verify(ctx, attempt)
		if err != nil {
			return nil, err
		}
		if id.DID == ident.DID {
			v.cache.Add(key, cachedIdentity{id: *id, expires: v.now().Add(v.ttl)})
		}
		return *id, nil
	})
	// Each caller's outcome counts for its own client, also when it shared
	// another caller's check.
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		v.throttle.failed(ident.DID, attempt.ClientAddr)
	case err == nil && res.(Identity).DID == ident.DID:
		v.throttle.succeeded(ident.DID, attempt.ClientAddr)
	}
	if err != nil {
		return nil, err
	}
	id := res.(Identity)
	return &id, nil
}

// key is HMAC-SHA256 over the DID and the secret, NUL-separated (a DID
// contains no NUL).
func (v *CachingVerifier) key(did syntax.DID, secret string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, v.hmacKey[:])
	mac.Write([]byte(did))
	mac.Write([]byte{0})
	mac.Write([]byte(secret))
	var out [sha256.Size]byte
	copy(out[:], mac.Sum(nil))
	return out
}
