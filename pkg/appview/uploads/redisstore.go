package uploads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"

	"atcr.io/pkg/appview/registry"
)

// Redis keys (after Options.RedisPrefix, default "atcr:"):
//
//	upload:<id>          hash: meta (savedSession JSON), buf (remainder);
//	                     expires 2×UploadTTL after its last save
//	upload:<id>:lock     the session's lock: a random token, PX LockTTL
//	uploads              sorted set: session id → last use (unix ms), for
//	                     the global cap and the idle sweep
//	uploads:owner:<did>  sorted set: the owner's sessions, for its cap
//	uploads:parked:<did> hash: session id → bytes of its remainder kept
//	                     here, for the owner's bound on them
//	uploads:sweep        when an AppView last swept (unix ms, its clock)
const (
	// maxScriptRemainder is the largest remainder handed to the save
	// script itself; a larger one is staged with a plain SET (save).
	maxScriptRemainder = 64 << 10
	// lockPoll bounds the wait between tries for a taken lock.
	lockPollMin, lockPollMax = 2 * time.Millisecond, 50 * time.Millisecond
	// sweepBatch bounds the sessions one sweep looks at.
	sweepBatch = 100
)

// reserveSlot counts a new session if the caps allow, first dropping index
// entries older than any session can be (their hashes expired): 1 or 0.
var reserveSlot = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) or redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 1
`)

// claimSweep lets one AppView sweep per sweepInterval, by the Managers'
// clock (ARGV[1], unix ms): 1 this one sweeps, 0 another did lately.
var claimSweep = redis.NewScript(`
local last = redis.call('GET', KEYS[1])
if last and tonumber(ARGV[1]) - tonumber(last) < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
`)

// redisStore keeps sessions in Redis: every AppView sharing it can
// continue any session. A request loads the session when it takes the
// lock and saves it at every part boundary and when it lets go; between
// requests nothing of it stays in this process.
type redisStore struct {
	rdb     redis.UniversalClient
	prefix  string
	lockTTL time.Duration
	keep    time.Duration // how long a saved session outlives its last save
	log     *slog.Logger
	now     func() time.Time // the Manager's: the idle index's scores
}

func newRedisStore(rdb redis.UniversalClient, opts Options) *redisStore {
	return &redisStore{
		rdb: rdb, prefix: opts.RedisPrefix, lockTTL: opts.LockTTL, keep: 2 * opts.UploadTTL,
		log: opts.Logger, now: opts.Now,
	}
}

func (r *redisStore) sessKey(id string) string { return r.prefix + "upload:" + id }
func (r *redisStore) bufKey(id string) string  { return r.prefix + "upload:" + id + ":buf" }
func (r *redisStore) lockKey(id string) string { return r.prefix + "upload:" + id + ":lock" }
func (r *redisStore) allKey() string           { return r.prefix + "uploads" }
func (r *redisStore) ownerKey(owner syntax.DID) string {
	return r.prefix + "uploads:owner:" + string(owner)
}
func (r *redisStore) parkedKey(owner syntax.DID) string {
	return r.prefix + "uploads:parked:" + string(owner)
}
func (r *redisStore) sweepKey() string       { return r.prefix + "uploads:sweep" }
func (r *redisStore) local() bool            { return false }
func (r *redisStore) open() []*uploadSession { return nil }
func (r *redisStore) indexKeys(sess *uploadSession) []string {
	return []string{r.lockKey(sess.id), r.sessKey(sess.id), r.bufKey(sess.id), r.allKey(), r.ownerKey(sess.owner), r.parkedKey(sess.owner)}
}

// reserveParkedScript counts ARGV[2] bytes (or what the session ARGV[1]
// has there now, if more) for the session in the owner's parked hash
// (KEYS[1]) when the other sessions' entries plus that stay within ARGV[3];
// entries of sessions gone from the owner's index (KEYS[2]) are dropped on
// the way. 1 counted, 0 over the bound. The save script replaces the
// reservation with what the session really keeps.
var reserveParkedScript = redis.NewScript(`
local total = 0
local f = redis.call('HGETALL', KEYS[1])
for i = 1, #f, 2 do
  if f[i] ~= ARGV[1] then
    if redis.call('ZSCORE', KEYS[2], f[i]) then
      total = total + tonumber(f[i+1])
    else
      redis.call('HDEL', KEYS[1], f[i])
    end
  end
end
local want = math.max(tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0'), tonumber(ARGV[2]))
if total + want > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], want)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

func (r *redisStore) reserveParked(ctx context.Context, sess *uploadSession, n, limit int64) (bool, error) {
	ok, err := reserveParkedScript.Run(ctx, r.rdb, []string{r.parkedKey(sess.owner), r.ownerKey(sess.owner)},
		sess.id, n, limit, r.keep.Milliseconds()).Int()
	if err != nil {
		return false, unavailable("count parked upload remainders", err)
	}
	return ok == 1, nil
}

func (r *redisStore) reserve(ctx context.Context, id string, owner syntax.DID, maxTotal, maxPerOwner int) (bool, error) {
	now := r.now()
	n, err := reserveSlot.Run(ctx, r.rdb, []string{r.allKey(), r.ownerKey(owner)},
		id, now.UnixMilli(), now.Add(-r.keep).UnixMilli(), maxTotal, maxPerOwner, r.keep.Milliseconds()).Int()
	if err != nil {
		return false, unavailable("reserve upload session", err)
	}
	return n == 1, nil
}

func (r *redisStore) unreserve(ctx context.Context, id string, owner syntax.DID) {
	if _, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, r.allKey(), id)
		p.ZRem(ctx, r.ownerKey(owner), id)
		return nil
	}); err != nil {
		r.log.WarnContext(ctx, "uploads: unreserve session in redis", "upload", id, "err", err)
	}
}

func (r *redisStore) add(ctx context.Context, sess *uploadSession) error {
	meta, err := encodeSession(sess)
	if err != nil {
		return err
	}
	if _, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.sessKey(sess.id), meta, r.keep)
		p.ZAdd(ctx, r.allKey(), redis.Z{Score: float64(time.Unix(0, sess.lastUsed.Load()).UnixMilli()), Member: sess.id})
		return nil
	}); err != nil {
		return unavailable("save upload session", err)
	}
	return nil
}

// tryLock takes the lock of session id once: the session (nil when it does
// not exist), whether another request holds it, or an error.
func (r *redisStore) tryLock(ctx context.Context, id string) (*uploadSession, bool, error) {
	h := &heldLock{rdb: r.rdb, key: r.lockKey(id), token: newLockToken(), ttl: r.lockTTL}
	res, err := lockAndLoad.Run(ctx, r.rdb, []string{h.key, r.sessKey(id)}, h.token, r.lockTTL.Milliseconds()).Slice()
	if err != nil {
		return nil, false, unavailable("lock upload session", err)
	}
	switch res[0].(int64) {
	case 0:
		return nil, false, nil
	case 1:
		return nil, true, nil
	}
	meta, _ := res[1].(string)
	sess, err := decodeSession(id, []byte(meta))
	if err != nil {
		_ = unlockIfOurs.Run(context.WithoutCancel(ctx), r.rdb, []string{h.key}, h.token).Err()
		return nil, false, err
	}
	sess.held = h
	return sess, false, nil
}

func (r *redisStore) acquire(ctx context.Context, id string) (context.Context, *uploadSession, error) {
	wait := lockPollMin
	for {
		sess, taken, err := r.tryLock(ctx, id)
		switch {
		case err != nil:
			return ctx, nil, fmt.Errorf("upload %q: %w", id, err)
		case sess != nil:
			return sess.held.startRenewal(ctx), sess, nil
		case !taken:
			return ctx, nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
		}
		// Another request (on any AppView) has it: wait, as for a mutex.
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx, nil, fmt.Errorf("upload %q: %w", id, ctx.Err())
		}
		wait = min(2*wait, lockPollMax)
	}
}

func (r *redisStore) peek(ctx context.Context, id string) (*uploadSession, error) {
	meta, err := r.rdb.Get(ctx, r.sessKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	if err != nil {
		return nil, fmt.Errorf("upload %q: %w", id, unavailable("read upload session", err))
	}
	return decodeSession(id, meta)
}

func (r *redisStore) loadRemainder(ctx context.Context, sess *uploadSession) ([]byte, error) {
	buf, err := r.rdb.Get(ctx, r.bufKey(sess.id)).Bytes()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("upload %s: %w", sess.id, unavailable("read upload remainder", err))
	}
	return buf, nil
}

// save writes the session as it stands; final also records its use and
// unlocks.
func (r *redisStore) save(ctx context.Context, sess *uploadSession, final bool) error {
	meta, err := encodeSession(sess)
	if err != nil {
		return err
	}
	// Small chunks are appended to the stored remainder; otherwise the
	// remainder was loaded (sess.stored is 0) and is written whole.
	mode := "set"
	if sess.stored > 0 {
		mode = "append"
	}
	return r.write(ctx, sess, meta, sess.buf, mode, sess.stored, final)
}

// write runs saveSession: meta, and buf as the remainder by mode ("set",
// or "append" to the stored bytes already there).
func (r *redisStore) write(ctx context.Context, sess *uploadSession, meta, buf []byte, mode string, stored int, final bool) error {
	flag := "0"
	if final {
		flag = "1"
	}
	keys := r.indexKeys(sess)
	if mode == "set" && len(buf) > maxScriptRemainder {
		// Bytes handed to a script cost Redis about 2 ms of CPU per MiB
		// (a plain SET of 2 MiB: 25 µs): a large remainder is written
		// beside the session under this lock's token, and the script
		// renames it into place.
		staged := r.bufKey(sess.id) + ":staged:" + sess.held.token
		if err := r.rdb.Set(ctx, staged, buf, r.keep).Err(); err != nil {
			return fmt.Errorf("upload %s: %w", sess.id, unavailable("save upload remainder", err))
		}
		keys = append(keys, staged)
		buf, mode = nil, "staged"
	}
	used := time.Unix(0, sess.lastUsed.Load()).UnixMilli()
	n, err := saveSession.Run(ctx, r.rdb, keys,
		sess.held.token, meta, buf, mode, stored, r.keep.Milliseconds(), used, flag, sess.id).Int()
	switch {
	case err != nil:
		return fmt.Errorf("upload %s: %w", sess.id, unavailable("save upload session", err))
	case n == 0:
		return fmt.Errorf("upload %s: %w", sess.id, errLockLost)
	case n < 0:
		return fmt.Errorf("upload %s: stored remainder is not %d bytes long: %w", sess.id, stored, registry.ErrSharedStateUnavailable)
	}
	return nil
}

func (r *redisStore) checkpoint(ctx context.Context, sess *uploadSession, parts []sentPart) error {
	meta, err := encodeBoundary(sess, parts)
	if err != nil {
		return err
	}
	return r.write(context.WithoutCancel(ctx), sess, meta, nil, "set", 0, false)
}

func (r *redisStore) release(ctx context.Context, sess *uploadSession) error {
	h := sess.held
	h.stopRenewal()
	if h.gone {
		return nil
	}
	h.gone = true
	return r.save(ctx, sess, true)
}

func (r *redisStore) remove(ctx context.Context, sess *uploadSession) bool {
	h := sess.held
	if h.gone {
		return false
	}
	n, err := removeSession.Run(ctx, r.rdb, r.indexKeys(sess), h.token, sess.id).Int()
	if err != nil {
		r.log.WarnContext(ctx, "uploads: remove session from redis", "upload", sess.id, "err", err)
		return false
	}
	if n == 1 {
		h.stopRenewal()
		h.gone = true
	}
	return n == 1
}

func (r *redisStore) sweep(ctx context.Context, now time.Time, ttl time.Duration) []*uploadSession {
	claimed, err := claimSweep.Run(ctx, r.rdb, []string{r.sweepKey()},
		now.UnixMilli(), sweepInterval.Milliseconds(), r.keep.Milliseconds()).Int()
	if err != nil || claimed == 0 { // another AppView swept lately (or Redis is down: Start says so)
		return nil
	}
	ids, err := r.rdb.ZRangeByScore(ctx, r.allKey(), &redis.ZRangeBy{
		Min: "-inf", Max: fmt.Sprint(now.Add(-ttl).UnixMilli()), Count: sweepBatch,
	}).Result()
	if err != nil {
		r.log.WarnContext(ctx, "uploads: sweep idle sessions", "err", err)
		return nil
	}
	var swept []*uploadSession
	for _, id := range ids {
		sess, taken, err := r.tryLock(ctx, id)
		switch {
		case err != nil:
			r.log.WarnContext(ctx, "uploads: sweep idle session", "upload", id, "err", err)
			continue
		case taken: // in use: not idle
			continue
		case sess == nil: // its hash expired
			r.rdb.ZRem(ctx, r.allKey(), id)
			continue
		}
		sess.held.startRenewal(ctx)
		if sess.idleSince(now) > ttl && r.remove(ctx, sess) {
			swept = append(swept, sess)
			continue
		}
		if err := sess.held.unlock(ctx); err != nil {
			r.log.WarnContext(ctx, "uploads: sweep idle session", "upload", id, "err", err)
		}
	}
	return swept
}
