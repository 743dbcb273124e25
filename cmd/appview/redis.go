package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisPrefix starts every key the AppView keeps in Redis.
const redisPrefix = "atcr:"

// redisPingTimeout bounds the start-up check that Redis answers.
const redisPingTimeout = 5 * time.Second

// openRedis connects to the Redis the AppViews share (config redis.url):
// nil, nil when none is configured (everything stays in this process). A
// Redis that does not answer at start-up stops the AppView: a cluster
// member running on private state would lose its users' uploads.
func openRedis(ctx context.Context, rawURL string, logger *slog.Logger) (*redis.Client, error) {
	if rawURL == "" {
		return nil, nil
	}
	opt, err := redisOptions(rawURL)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opt)
	pingCtx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis at %s: %w", opt.Addr, err)
	}
	logger.Info("Shared state in Redis", "addr", opt.Addr, "db", opt.DB)
	return rdb, nil
}

// redisCallTimeout bounds each socket read and write of a call that has
// no earlier deadline of its own (the URL's read_timeout and
// write_timeout, when given, win). Every call the AppView makes is small:
// a Redis that takes longer is one to treat as down.
const redisCallTimeout = 2 * time.Second

// redisOptions parses redis.url. Every call's context deadline bounds its
// socket reads and writes (ContextTimeoutEnabled): the callers give Redis
// 200 ms to 2 s and then carry on without it, which a Redis that hangs
// (paused, swapping, a network black hole) rather than refuses would
// otherwise stretch to go-redis's own read timeout (5 s) on every call — a
// failed login, which makes six throttle calls, waited 30 s. Calls
// without a deadline (the upload sessions' scripts) get redisCallTimeout.
func redisOptions(rawURL string) (*redis.Options, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	opt.ContextTimeoutEnabled = true
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = redisCallTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = redisCallTimeout
	}
	return opt, nil
}

// redisOrNil keeps a nil *redis.Client a nil interface: options take
// redis.UniversalClient, and a typed nil there would mean "use Redis".
func redisOrNil(rdb *redis.Client) redis.UniversalClient {
	if rdb == nil {
		return nil
	}
	return rdb
}
