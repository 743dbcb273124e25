package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedTimeout bounds one Redis call: past it this process counts.
const sharedTimeout = 200 * time.Millisecond

// recordFailure counts a failure in the hash (n: failures, s: window start
// in unix ms), starting a new window when the last one ended, and lets the
// hash expire with its window (ARGV now ms, window ms).
var recordFailure = redis.NewScript(`
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local since = tonumber(redis.call('HGET', KEYS[1], 's'))
if not since or now >= since + window then
  redis.call('HSET', KEYS[1], 's', now, 'n', 1)
  redis.call('PEXPIRE', KEYS[1], window)
  return 1
end
return redis.call('HINCRBY', KEYS[1], 'n', 1)
`)

// sharedCounts are the failure counters in Redis: one hash per key under
// prefix, named by the SHA-256 of the key's text (keys hold DIDs and
// client addresses of any length).
type sharedCounts struct {
	rdb    redis.UniversalClient
	prefix string
	warned atomic.Int64 // unix seconds of the last warning
}

var errNoShared = errors.New("throttle: no shared counters")

// sharedKey names key's counter in Redis: the SHA-256 of its text, which
// every AppView must spell the same — its String method, or the string
// itself (New refuses other key types with Redis). fmt's rendering of a
// struct is no such text: a netip.Prefix in an unexported field prints
// the address of its zone handle, which differs per process, so each
// AppView counted a client apart.
func sharedKey[K comparable](key K) string {
	var text string
	if s, ok := any(key).(fmt.Stringer); ok {
		text = s.String()
	} else {
		text = reflect.ValueOf(key).String() // a string kind (New checks)
	}
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:16])
}

// hasStableText reports whether sharedKey can spell keys of type K: a
// fmt.Stringer, or a type whose underlying type is string.
func hasStableText[K comparable]() bool {
	var zero K
	if _, ok := any(zero).(fmt.Stringer); ok {
		return true
	}
	return reflect.TypeFor[K]().Kind() == reflect.String
}

func (s *sharedCounts) blocked(key string, now time.Time, window time.Duration, limit int) (bool, error) {
	if s == nil {
		return false, errNoShared
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	v, err := s.rdb.HMGet(ctx, s.prefix+key, "n", "s").Result()
	if err != nil {
		return false, s.failed(now, err)
	}
	n, _ := v[0].(string)
	since, _ := v[1].(string)
	count, _ := strconv.Atoi(n)
	start, _ := strconv.ParseInt(since, 10, 64)
	return count >= limit && now.Before(time.UnixMilli(start).Add(window)), nil
}

func (s *sharedCounts) record(key string, now time.Time, window time.Duration) error {
	if s == nil {
		return errNoShared
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	if err := recordFailure.Run(ctx, s.rdb, []string{s.prefix + key}, now.UnixMilli(), window.Milliseconds()).Err(); err != nil {
		return s.failed(now, err)
	}
	return nil
}

// failed warns at most once a minute that Redis is out of reach.
func (s *sharedCounts) failed(now time.Time, err error) error {
	if last := s.warned.Load(); now.Unix()-last >= 60 && s.warned.CompareAndSwap(last, now.Unix()) {
		slog.Warn("throttle: Redis unavailable, counting failures in this process", "key_prefix", s.prefix, "err", err)
	}
	return err
}
