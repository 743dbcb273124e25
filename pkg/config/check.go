package config

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// maxPresignTTL is the longest lifetime SigV4 allows for a presigned URL.
const maxPresignTTL = 7 * 24 * time.Hour

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

// checker collects every validation problem so that one start-up attempt
// shows them all.
type checker struct {
	src  *sources
	errs []error
}

func (c *checker) fail(key, format string, args ...any) {
	c.errs = append(c.errs, c.src.errorf(key, format, args...))
}

func (c *checker) err() error { return errors.Join(c.errs...) }

func (c *checker) notEmpty(key, v string) {
	if strings.TrimSpace(v) == "" {
		c.fail(key, "must not be empty")
	}
}

// required reports a value that production mode needs.
func (c *checker) required(key, v, env string) bool {
	if v != "" {
		return true
	}
	c.fail(key, "required when the public URL is not a loopback address (set it in the file or with %s)", env)
	return false
}

func (c *checker) oneOf(key, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		c.fail(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
}

func (c *checker) positive(key string, d time.Duration) {
	if d <= 0 {
		c.fail(key, "must be a duration greater than zero, got %s", d)
	}
}

func (c *checker) hostPort(key, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		c.fail(key, "%q is not a host:port listen address: %v", addr, err)
	}
}

// did checks v lightly: the DID syntax, not that it resolves.
func (c *checker) did(key, v string) {
	if _, err := syntax.ParseDID(v); err != nil {
		c.fail(key, "%q is not a DID: %v", v, err)
	}
}

// httpURL parses an absolute http(s) URL; with httpsOnly only https passes.
func (c *checker) httpURL(key, raw string, httpsOnly bool) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		c.fail(key, "%q is not a URL: %v", raw, err)
		return nil, false
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		c.fail(key, "%q must be an http or https URL", raw)
	case u.Host == "" || u.Hostname() == "":
		c.fail(key, "%q has no host", raw)
	case u.User != nil:
		c.fail(key, "%q must not contain user info", raw)
	case httpsOnly && u.Scheme != "https":
		c.fail(key, "%q must use https (plain http is only allowed with insecure_local_dev)", raw)
	default:
		return u, true
	}
	return nil, false
}

// publicOrigin checks the URL other parties use to reach this server: a bare
// origin, https in production, loopback-only under insecure_local_dev so the
// switch cannot be left on by accident on a reachable host.
func (c *checker) publicOrigin(key, raw string, insecureLocalDev bool) {
	if insecureLocalDev {
		// Checked first: the switch on a reachable host is the real problem,
		// whatever else is wrong with the URL.
		if u, err := url.Parse(raw); err == nil && u.Hostname() != "" && !isLoopbackHost(u.Hostname()) {
			c.fail(key, "host %q is not a loopback address; insecure_local_dev is only allowed on 127.0.0.0/8, ::1 or localhost", u.Hostname())
			return
		}
	}
	u, ok := c.httpURL(key, raw, production(raw))
	if !ok {
		return
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		c.fail(key, "%q must be an origin like https://example.com, without path, query or fragment", raw)
		return
	}
}

// production reports whether a server with this public URL is reachable
// beyond this machine. Such a server needs https and its required keys; a
// loopback URL (the default when none is set) is a server for local use, which
// is what lets `serve` start with no config at all.
func production(publicURL string) bool {
	u, err := url.Parse(publicURL)
	return err != nil || !isLoopbackHost(u.Hostname())
}

// handleResolver checks identity.handle_resolver_url, a local-stack escape
// hatch that must never be set in production.
func (c *checker) handleResolver(key, raw string, insecureLocalDev bool) {
	if raw == "" {
		return
	}
	if !insecureLocalDev {
		c.fail(key, "only allowed with insecure_local_dev; production resolves handles through DNS and HTTPS")
		return
	}
	c.httpURL(key, raw, false)
}

func (c *checker) logConfig(l LogConfig) {
	c.oneOf("log.level", l.Level, logLevels)
	c.oneOf("log.format", l.Format, logFormats)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// trimRootSlash turns "https://host/" into "https://host" so that code can
// append paths to the origin; anything else is left for validation to judge.
func trimRootSlash(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" && u.Path == "/" && u.RawQuery == "" && u.Fragment == "" {
		return strings.TrimSuffix(raw, "/")
	}
	return raw
}

// hostOf returns host[:port] of an absolute URL, or "" if it does not parse.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// atLeast checks an integer key's lower bound.
func (c *checker) atLeast(key string, v, least int) {
	if v < least {
		c.fail(key, "must be at least %d, got %d", least, v)
	}
}

// trustedProxies checks that every entry is an IP address or CIDR prefix.
func (c *checker) trustedProxies(key string, values []string) {
	for _, v := range values {
		if _, err := netip.ParsePrefix(v); err == nil {
			continue
		}
		if addr, err := netip.ParseAddr(v); err != nil || addr.Zone() != "" {
			c.fail(key, "%q is not an IP address or CIDR prefix", v)
		}
	}
}
