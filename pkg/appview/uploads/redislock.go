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

// lockAndLoad takes the lock of a session that exists and returns its
// meta (and remainder): {0} no such session, {1} locked by another
// request, {2, meta[, buf]} taken.
var lockAndLoad = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then return {0} end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
if ARGV[3] == '1' then
  return {2, redis.call('HGET', KEYS[2], 'meta'), redis.call('HGET', KEYS[2], 'buf')}
end
return {2, redis.call('HGET', KEYS[2], 'meta')}
`)

// saveSession writes meta and buf if the lock is still ours, refreshes the
// session's expiry, and when asked records its use (the idle index) and
// unlocks: 1 saved, 0 the lock was lost.
var saveSession = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'meta', ARGV[2], 'buf', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if ARGV[6] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[7])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[7])
  redis.call('PEXPIRE', KEYS[4], ARGV[4])
  redis.call('DEL', KEYS[1])
end
return 1
`)

// removeSession deletes the session, its index entries and its lock if the
// lock is ours: 1 removed, 0 the lock was lost.
var removeSession = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2], KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
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
var errLockLost = fmt.Errorf("upload session lock lost: %w", registry.ErrSharedStateUnavailable)

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
