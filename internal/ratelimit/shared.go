package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedTimeout bounds one Redis call of a limit: past it the request is
// counted in the local table, so a slow Redis never slows every request.
const sharedTimeout = 200 * time.Millisecond

// errNoShared: the limiter has no Redis.
var errNoShared = errors.New("ratelimit: no shared buckets")

// takeToken refills the bucket (hash t: tokens, at: unix ms of the last
// refill) at ARGV rate per second up to burst, as of now, and takes a token
// when asked and one is there. It returns {1 allowed or 0, tokens left as a
// string}. A bucket that would be full is not kept: it expires once
// refilled (ARGV[5] ms). With take 0 a missing bucket is not created.
var takeToken = redis.NewScript(`
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if not tokens then
  if ARGV[4] == '0' then return {1, tostring(burst)} end
  tokens, at = burst, now
end
if now > at then tokens = math.min(burst, tokens + (now - at) / 1000 * rate) end
local ok = 0
if tokens >= 1 then
  ok = 1
  if ARGV[4] == '1' then tokens = tokens - 1 end
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', math.max(now, at))
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return {ok, tostring(tokens)}
`)

// sharedBuckets are the Limiter's buckets in Redis, one hash per key
// under prefix, shared by every AppView.
type sharedBuckets struct {
	rdb    redis.UniversalClient
	prefix string
	warned atomic.Int64 // unix seconds of the last warning
}

// sharedTake charges (take) or looks at a key's bucket in Redis: whether
// a token is there, and how long until one is. An error means the caller
// uses its local table.
func (l *Limiter) sharedTake(key string, now time.Time, take bool) (bool, time.Duration, error) {
	s := l.shared
	if s == nil {
		return false, 0, errNoShared
	}
	flag := "0"
	if take {
		flag = "1"
	}
	refill := time.Duration(l.burst/l.rate*float64(time.Second)) + time.Second
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	res, err := takeToken.Run(ctx, s.rdb, []string{s.prefix + key},
		l.rate, l.burst, now.UnixMilli(), flag, refill.Milliseconds()).Slice()
	if err == nil && len(res) != 2 {
		err = errors.New("unexpected reply")
	}
	var tokens float64
	if err == nil {
		str, _ := res[1].(string)
		tokens, err = strconv.ParseFloat(str, 64)
	}
	if err != nil {
		if last := s.warned.Load(); now.Unix()-last >= 60 && s.warned.CompareAndSwap(last, now.Unix()) {
			slog.Warn("ratelimit: Redis unavailable, counting in this process", "key_prefix", s.prefix, "err", err)
		}
		return false, 0, err
	}
	if ok, _ := res[0].(int64); ok == 1 {
		return true, 0, nil
	}
	return false, max(time.Duration((1-tokens)/l.rate*float64(time.Second)), time.Millisecond), nil
}
