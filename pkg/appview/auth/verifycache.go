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
	"golang.org/x/sync/singleflight"

	"atcr.io/pkg/appview/throttle"
)

// Bounds of the verification cache and failure throttle.
const (
	verifyCacheSize = 10_000
	// maxFailures failed checks per account within failureWindow make
	// further checks fail fast with ErrRateLimited. The reference PDS
	// allows 30 createSession calls per identifier and client IP in five
	// minutes — and the client IP is the AppView's — so without this a
	// stranger could spend a user's whole login budget through ATCR.
	maxFailures   = 10
	failureWindow = 5 * time.Minute
)

// CachingVerifier remembers successful checks of an inner verifier for a
// short TTL, so that each docker command does not cost a createSession on
// the user's PDS, and throttles repeated failures per account. Entries are
// keyed by HMAC-SHA256(per-process secret, DID, secret): the secret itself
// is never stored. Failures are never cached as success, and a cached
// success still needs the same secret. Concurrent identical checks share
// one call to the inner verifier.
type CachingVerifier struct {
	inner   CredentialVerifier
	dir     identity.Directory
	ttl     time.Duration
	now     func() time.Time
	hmacKey [32]byte

	cache    *lru.Cache[[sha256.Size]byte, cachedIdentity]
	flights  singleflight.Group
	failures *throttle.Failures[syntax.DID]
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
	v.failures, err = throttle.New[syntax.DID](throttle.Options{Max: maxFailures, Window: failureWindow, Size: verifyCacheSize, Now: now})
	if err != nil {
		return nil, fmt.Errorf("caching verifier: %w", err)
	}
	return v, nil
}

// Verify answers from the cache when it can and asks inner otherwise.
func (v *CachingVerifier) Verify(ctx context.Context, identifier, secret string) (*Identity, error) {
	ident, err := ResolveLogin(ctx, v.dir, identifier)
	if err != nil {
		return nil, err
	}
	key := v.key(ident.DID, secret)
	if hit, ok := v.cache.Get(key); ok && v.now().Before(hit.expires) {
		id := hit.id
		return &id, nil
	}
	if v.failures.Blocked(ident.DID) {
		return nil, fmt.Errorf("%w: %s: %d failed logins within %s", ErrRateLimited, ident.DID, maxFailures, failureWindow)
	}
	res, err, _ := v.flights.Do(string(key[:]), func() (any, error) {
		id, err := v.inner.Verify(ctx, identifier, secret)
		if err != nil {
			if errors.Is(err, ErrInvalidCredentials) {
				v.failures.Record(ident.DID)
			}
			return nil, err
		}
		if id.DID == ident.DID {
			v.cache.Add(key, cachedIdentity{id: *id, expires: v.now().Add(v.ttl)})
		}
		return *id, nil
	})
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
