package uploads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"atcr.io/pkg/appview/registry"
)

// A session's Redis lock is a key set with SET NX PX to a random token: the
// request holding it renews it every LockTTL/3 while it runs, and every
// write to the session and the release check the token first, in the same
// script, so an AppView that lost its lock (stalled past LockTTL, cut off
// from Redis) can never overwrite what the next holder saved.

// Session scripts take KEYS lock, meta, buf, the global index and the
// owner's index (sessionKeys).

// lockAndLoad takes the lock of a session that exists and returns its
// meta: {0} no such session, {1} locked by another request, {2, meta}
// taken.
var lockAndLoad = redis.NewScript(`
local meta = redis.call('GET', KEYS[2])
if not meta then return {0} end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
return {2, meta}
`)

// saveSession writes meta and the remainder if the lock is still ours:
// ARGV[4] 'set' replaces the remainder with ARGV[3], 'staged' with the
// bytes a plain SET put at KEYS[7] (renamed into place), 'append' appends
// ARGV[3] to the ARGV[5] bytes already there; the remainder's length goes
// into the owner's parked hash (KEYS[6]). It refreshes the session's
// expiry (ARGV[6] ms), and when asked (ARGV[8]) records its use (score
// ARGV[7]) in the indexes and unlocks. 1 saved, 0 the lock was lost (a
// staged remainder is deleted), -1 the stored remainder is not as long as
// expected.
var saveSession = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  if ARGV[4] == 'staged' then redis.call('DEL', KEYS[7]) end
  return 0
end
if ARGV[4] == 'append' then
  if redis.call('STRLEN', KEYS[3]) ~= tonumber(ARGV[5]) then return -1 end
  if ARGV[3] ~= '' then redis.call('APPEND', KEYS[3], ARGV[3]) end
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
elseif ARGV[4] == 'staged' then
  redis.call('RENAME', KEYS[7], KEYS[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
elseif ARGV[3] == '' then
  redis.call('DEL', KEYS[3])
else
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[6])
end
local parked = redis.call('STRLEN', KEYS[3])
if parked > 0 then
  redis.call('HSET', KEYS[6], ARGV[9], parked)
  redis.call('PEXPIRE', KEYS[6], ARGV[6])
else
  redis.call('HDEL', KEYS[6], ARGV[9])
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[6])
if ARGV[8] == '1' then
  redis.call('ZADD', KEYS[4], ARGV[7], ARGV[9])
  redis.call('ZADD', KEYS[5], ARGV[7], ARGV[9])
  redis.call('PEXPIRE', KEYS[5], ARGV[6])
  redis.call('DEL', KEYS[1])
end
return 1
`)

// removeSession deletes the session, its index and parked entries and its
// lock if the lock is ours: 1 removed, 0 the lock was lost.
var removeSession = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[1])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('ZREM', KEYS[5], ARGV[2])
redis.call('HDEL', KEYS[6], ARGV[2])
return 1
`)

// unlockIfOurs deletes the lock if it still holds our token.
var unlockIfOurs = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// renewIfOurs extends the lock if it still holds our token: 1, else 0.
var renewIfOurs = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// errLockLost ends a request whose session lock expired or was taken.
var errLockLost = registry.ErrUploadLockLost

// heldLock is a session lock a request holds, and its renewal.
type heldLock struct {
	rdb   redis.UniversalClient
	key   string
	token string
	ttl   time.Duration

	cancel context.CancelCauseFunc // ends the request's context
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	// gone: the session was removed (which deleted the lock).
	gone bool
}

func newLockToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// startRenewal renews the lock every ttl/3 until stopped. When the lock
// cannot be renewed (taken, or Redis unreachable for 2/3 of the TTL) the
// request's context ends with errLockLost, so it stops sending parts.
func (h *heldLock) startRenewal(ctx context.Context) context.Context {
	ctx, h.cancel = context.WithCancelCause(ctx)
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(h.done)
		tick := time.NewTicker(h.ttl / 3)
		defer tick.Stop()
		renewed := time.Now()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
			callCtx, cancel := context.WithTimeout(context.Background(), h.ttl/3)
			n, err := renewIfOurs.Run(callCtx, h.rdb, []string{h.key}, h.token, h.ttl.Milliseconds()).Int()
			cancel()
			if err == nil && n == 1 {
				renewed = time.Now()
				continue
			}
			if err == nil || time.Since(renewed) > h.ttl*2/3 {
				h.cancel(errLockLost)
				return
			}
		}
	}()
	return ctx
}

// stopRenewal ends the renewal and the request's context (idempotent).
func (h *heldLock) stopRenewal() {
	h.once.Do(func() {
		close(h.stop)
		<-h.done
		h.cancel(context.Canceled)
	})
}

// unlock stops the renewal and deletes the lock if it is still ours. A
// lock that cannot be deleted expires after its TTL; until then the
// session waits.
func (h *heldLock) unlock(ctx context.Context) error {
	h.stopRenewal()
	if h.gone {
		return nil
	}
	h.gone = true
	if err := unlockIfOurs.Run(ctx, h.rdb, []string{h.key}, h.token).Err(); err != nil {
		return unavailable("unlock upload session", err)
	}
	return nil
}

// unavailable marks a Redis failure: uploads fail closed (503) rather
// than go on with state another AppView cannot see.
func unavailable(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %w", what, registry.ErrSharedStateUnavailable, err)
}
