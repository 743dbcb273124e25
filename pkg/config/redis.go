package config

import (
	"net/url"
)

// RedisConfig names the Redis several AppViews share (upload sessions,
// caches, rate limits). Empty keeps all of it in each process's memory.
type RedisConfig struct {
	URL string `yaml:"url" env:"ATCR_REDIS_URL" comment:"Redis shared by the AppViews of a cluster: redis://[user:pass@]host:port/db, rediss:// (TLS) or unix:///path/to/socket?db=N. Empty keeps upload sessions, caches and rate limits in this process's memory (one AppView). See docs/shared-state.md."`
}

// redis validates the redis section: a URL of a scheme go-redis dials.
func (c *checker) redis(key string, r RedisConfig) {
	if r.URL == "" {
		return
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		c.fail(key, "%v", err)
		return
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Host == "" {
			c.fail(key, "%s URL names no host", u.Scheme)
		}
	case "unix":
		if u.Path == "" {
			c.fail(key, "unix URL names no socket path")
		}
	default:
		c.fail(key, "scheme %q: want redis://, rediss:// or unix://", u.Scheme)
	}
}
