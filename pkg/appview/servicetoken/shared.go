package servicetoken

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedTimeout bounds a Redis read or write of a token: past it the
// token is minted (or kept) locally, as without Redis.
const sharedTimeout = 500 * time.Millisecond

// sharedTokens keeps minted tokens in Redis for the other AppViews: key
// RedisKey + "<did> <aud> <lxm>", value "<expiry unix ms> <token>",
// expiring Margin before the token does. Redis failing is never an error:
// the token is minted as without Redis.
type sharedTokens struct {
	rdb    redis.UniversalClient
	prefix string
}

// fromShared returns a token another AppView minted that is still good
// for more than Margin, and keeps it locally.
func (c *Cache) fromShared(ctx context.Context, k key) (string, bool) {
	if c.shared == nil {
		return "", false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
	defer cancel()
	v, err := c.shared.rdb.Get(ctx, c.shared.prefix+k.String()).Result()
	if err != nil {
		return "", false
	}
	ms, value, ok := strings.Cut(v, " ")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || value == "" {
		return "", false
	}
	tok := token{value: value, expires: time.UnixMilli(n)}
	if !c.now().Before(tok.expires.Add(-c.margin)) {
		return "", false
	}
	c.tokens.Add(k, tok)
	return tok.value, true
}

// toShared offers a minted token to the other AppViews.
func (c *Cache) toShared(ctx context.Context, k key, tok token) {
	if c.shared == nil {
		return
	}
	ttl := tok.expires.Add(-c.margin).Sub(c.now())
	if ttl < time.Millisecond {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
	defer cancel()
	_ = c.shared.rdb.Set(ctx, c.shared.prefix+k.String(), strconv.FormatInt(tok.expires.UnixMilli(), 10)+" "+tok.value, ttl).Err()
}
