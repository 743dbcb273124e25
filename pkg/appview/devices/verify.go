package devices

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"

	"atcr.io/internal/clientaddr"
	"atcr.io/pkg/appview/auth"
	"atcr.io/pkg/appview/throttle"
)

// Bounds of the device-secret check. bcrypt at the default cost takes tens
// of milliseconds of CPU, so it runs once per secret and stored hash:
//
//   - a match is remembered for matchTTL, keyed by an HMAC of the stored
//     hash and the secret. Revocation does not wait for it: the device's row
//     is read on every call, and a deleted row has no hash to match.
//   - comparisons that fail are counted per lookup hint of an account (a
//     wrong secret only reaches bcrypt when its hint matches a device's, so
//     this is someone holding a hint collision, normally for their own
//     account) and per client address; past maxHintFailures or
//     maxClientFailures within failureWindow, bcrypt is not run and the
//     login gets 429. A wrong secret whose hint matches no device costs one
//     indexed query and is neither counted nor throttled.
const (
	matchTTL          = 10 * time.Minute
	maxHintFailures   = 5
	maxClientFailures = 20
	failureWindow     = 5 * time.Minute
	verifyCacheSize   = 10_000
)

// hintKey is one lookup hint of one account.
type hintKey struct {
	did  syntax.DID
	hint string
}

// String is the key's name in the shared counters, the same in every
// AppView: the DID, a space, the hint (a DID has no space).
func (k hintKey) String() string { return k.did.String() + " " + k.hint }

// secretCheck caches bcrypt matches and throttles bcrypt failures.
type secretCheck struct {
	hmacKey [32]byte
	now     func() time.Time
	matches *lru.Cache[[sha256.Size]byte, time.Time] // expiry
	byHint  *throttle.Failures[hintKey]
	byAddr  *throttle.Failures[netip.Prefix]
}

// newSecretCheck returns the check; with rdb its failure counters are in
// Redis under prefix (the cache of good comparisons stays per process: it
// is keyed by an HMAC under a key that never leaves it).
func newSecretCheck(now func() time.Time, rdb redis.UniversalClient, prefix string) (*secretCheck, error) {
	c := &secretCheck{now: now}
	if _, err := rand.Read(c.hmacKey[:]); err != nil {
		return nil, fmt.Errorf("devices: key: %w", err)
	}
	var err error
	if c.matches, err = lru.New[[sha256.Size]byte, time.Time](verifyCacheSize); err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	if c.byHint, err = throttle.New[hintKey](throttle.Options{Max: maxHintFailures, Window: failureWindow, Size: verifyCacheSize, Now: now,
		Redis: rdb, RedisKey: prefix + "fail:device-hint:"}); err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	if c.byAddr, err = throttle.New[netip.Prefix](throttle.Options{Max: maxClientFailures, Window: failureWindow, Size: verifyCacheSize, Now: now,
		Redis: rdb, RedisKey: prefix + "fail:device-client:"}); err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	return c, nil
}

// key is HMAC-SHA256 over the stored bcrypt hash and the secret,
// NUL-separated (neither contains NUL): the secret itself is never kept.
func (c *secretCheck) key(hash, secret string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, c.hmacKey[:])
	mac.Write([]byte(hash))
	mac.Write([]byte{0})
	mac.Write([]byte(secret))
	var out [sha256.Size]byte
	copy(out[:], mac.Sum(nil))
	return out
}

func (c *secretCheck) matched(hash, secret string) bool {
	expires, ok := c.matches.Get(c.key(hash, secret))
	return ok && c.now().Before(expires)
}

func (c *secretCheck) remember(hash, secret string) {
	c.matches.Add(c.key(hash, secret), c.now().Add(matchTTL))
}

// candidate is a device row whose lookup hint matches a secret.
type candidate struct {
	id, hash string
	used     int64
}

var _ auth.CredentialVerifier = (*Service)(nil)

// Verify implements auth.CredentialVerifier: a credential starting with
// SecretPrefix is checked against the account's devices (only the rows
// whose hint matches; bcrypt once per secret and row, see matchTTL),
// every other credential goes to the next verifier. A device secret is
// never sent to the PDS as a password.
func (s *Service) Verify(ctx context.Context, attempt auth.LoginAttempt) (*auth.Identity, error) {
	secret := attempt.Credential
	if !strings.HasPrefix(secret, SecretPrefix) {
		return s.next.Verify(ctx, attempt)
	}
	ident, err := auth.ResolveLogin(ctx, s.dir, attempt.Username)
	if err != nil {
		return nil, err
	}
	hint := secretHint(secret)
	found, err := s.candidates(ctx, ident.DID, hint)
	if err != nil {
		return nil, err
	}
	id := &auth.Identity{DID: ident.DID, Handle: ident.Handle}
	for _, c := range found {
		if s.check.matched(c.hash, secret) {
			s.touch(ctx, c.id, c.used)
			return id, nil
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: no device of %s has this secret", auth.ErrInvalidCredentials, ident.DID)
	}
	hk, addr := hintKey{did: ident.DID, hint: hint}, clientaddr.Key(attempt.ClientAddr)
	if s.check.byHint.Blocked(hk) || s.check.byAddr.Blocked(addr) {
		return nil, fmt.Errorf("%w: device secrets of %s from %s: too many failed comparisons within %s",
			auth.ErrRateLimited, ident.DID, attempt.ClientAddr, failureWindow)
	}
	for _, c := range found {
		if s.compare([]byte(c.hash), []byte(secret)) == nil {
			s.check.remember(c.hash, secret)
			s.touch(ctx, c.id, c.used)
			return id, nil
		}
	}
	s.check.byHint.Record(hk)
	s.check.byAddr.Record(addr)
	return nil, fmt.Errorf("%w: no device of %s has this secret", auth.ErrInvalidCredentials, ident.DID)
}

// candidates reads did's devices whose lookup hint is hint (normally none
// or one).
func (s *Service) candidates(ctx context.Context, did syntax.DID, hint string) ([]candidate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, secret_bcrypt, last_used_at FROM devices WHERE did = ? AND secret_hint = ?`,
		did.String(), hint)
	if err != nil {
		return nil, fmt.Errorf("read devices of %s: %w", did, err)
	}
	defer rows.Close()
	var found []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.id, &c.hash, &c.used); err != nil {
			return nil, fmt.Errorf("read devices of %s: %w", did, err)
		}
		found = append(found, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read devices of %s: %w", did, err)
	}
	return found, nil
}

// touch records a use, at most once per lastUsedInterval.
func (s *Service) touch(ctx context.Context, id string, used int64) {
	now := s.now()
	if used != 0 && now.Sub(time.Unix(used, 0)) < lastUsedInterval {
		return
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE devices SET last_used_at = ? WHERE id = ?`, now.Unix(), id); err != nil {
		s.log.WarnContext(ctx, "devices: record use", "device", id, "err", err)
	}
}
