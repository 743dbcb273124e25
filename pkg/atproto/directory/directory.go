package directory

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/atproto/safehttp"
)

// Defaults applied when the matching Options field is zero.
const (
	DefaultCacheTTL    = time.Hour
	DefaultErrTTL      = 2 * time.Minute
	DefaultNotFoundTTL = 10 * time.Minute
	DefaultCapacity    = 100_000
	DefaultCacheBytes  = 32 << 20
)

// MaxDocumentBytes bounds every response the directory reads: a DID
// document (did:web or PLC), a handle's well-known answer. Real documents
// are a few KiB; the bound keeps one identity from costing the cache
// megabytes.
const MaxDocumentBytes = 64 << 10

// Sentinel errors returned (wrapped) by New.
var (
	// ErrLocalDevOnly: a setting that only a local stack may use was given
	// without InsecureLocalDev.
	ErrLocalDevOnly = errors.New("setting requires insecure_local_dev")
	// ErrInvalidOptions: an option value is malformed or not allowed.
	ErrInvalidOptions = errors.New("invalid directory options")
)

// Options configures New. The zero value resolves against plc.directory with
// the production guarded client.
type Options struct {
	// PLCURL is the PLC directory, scheme and host (and optional port) only.
	// Default identity.DefaultPLCURL. Must be https, except a loopback
	// http URL with InsecureLocalDev.
	PLCURL string
	// HTTPClient is the safehttp client for every fetch. nil means
	// safehttp.New(safehttp.Options{}), the production setting.
	HTTPClient *http.Client
	// InsecureLocalDev enables the loopback-only relaxations: did:web on a
	// loopback host:port over http, and HandleResolverURL.
	InsecureLocalDev bool
	// HandleResolverURL, with InsecureLocalDev only, is a loopback PDS whose
	// com.atproto.identity.resolveHandle resolves every handle (a local
	// alice.test has neither DNS nor a well-known file).
	HandleResolverURL string
	// CacheTTL is how long a resolved identity or handle is reused. Default 1h.
	CacheTTL time.Duration
	// ErrTTL is how long a failure (and an identity whose handle did not
	// verify) is remembered before retrying. Default 2m.
	ErrTTL time.Duration
	// NotFoundTTL is how long a DID or handle that does not exist is
	// remembered. Default 10m.
	NotFoundTTL time.Duration
	// Capacity bounds the number of cached identities and handles. Default 100000.
	Capacity int
	// CacheBytes bounds the cache's estimated size (identities are charged
	// by their parsed documents). Default 32 MiB.
	CacheBytes int64
	// BeforeFetch, if set, is called with the caller's context before every
	// lookup that is not answered from the cache; an error is returned to
	// the caller as is, and nothing is fetched or cached. The hold
	// rate-limits callers with it.
	BeforeFetch func(ctx context.Context) error
	// Now is the cache's clock (time.Now when nil).
	Now func() time.Time
}

// New returns the caching identity directory described by opts.
func New(opts Options) (identity.Directory, error) {
	plcURL, err := checkPLCURL(opts.PLCURL, opts.InsecureLocalDev)
	if err != nil {
		return nil, err
	}
	if opts.HandleResolverURL != "" {
		if !opts.InsecureLocalDev {
			return nil, fmt.Errorf("%w: HandleResolverURL", ErrLocalDevOnly)
		}
		if err := checkLoopbackURL(opts.HandleResolverURL); err != nil {
			return nil, fmt.Errorf("HandleResolverURL: %w", err)
		}
	}
	client := opts.HTTPClient
	if client == nil {
		client = safehttp.New(safehttp.Options{})
	}
	client = boundedClient(client, MaxDocumentBytes)
	client = markRefusals(client, plcURL)
	base := &identity.BaseDirectory{
		PLCURL:     plcURL,
		HTTPClient: *client,
		// Asking a handle's own authoritative nameserver sends UDP to an
		// address the handle's owner chooses, outside the guarded client.
		TryAuthoritativeDNS: false,
		// bsky.social handles only resolve over the https well-known.
		SkipDNSDomainSuffixes: []string{".bsky.social"},
	}

	var inner identity.Directory = productionDirectory{BaseDirectory: base}
	if opts.InsecureLocalDev {
		inner = &verifyingDirectory{res: &localDevResolver{
			base:              base,
			client:            client,
			handleResolverURL: strings.TrimRight(opts.HandleResolverURL, "/"),
		}}
	}

	c := &cacheDirectory{
		inner:       inner,
		localDev:    opts.InsecureLocalDev,
		ttl:         orDuration(opts.CacheTTL, DefaultCacheTTL),
		errTTL:      orDuration(opts.ErrTTL, DefaultErrTTL),
		notFoundTTL: orDuration(opts.NotFoundTTL, DefaultNotFoundTTL),
		maxEntries:  opts.Capacity,
		maxBytes:    opts.CacheBytes,
		beforeFetch: opts.BeforeFetch,
		now:         opts.Now,
		entries:     map[string]*list.Element{},
		lru:         list.New(),
		flights:     map[string]*flight{},
	}
	if c.maxEntries <= 0 {
		c.maxEntries = DefaultCapacity
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultCacheBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// boundedClient returns a copy of client whose response bodies fail past
// max bytes (safehttp.ErrBodyTooLarge).
func boundedClient(client *http.Client, max int64) *http.Client {
	return withTransport(client, func(next http.RoundTripper) http.RoundTripper {
		return bodyLimit{next: next, max: max}
	})
}

// withTransport returns a copy of client whose transport is wrap's, built
// around client's own (http.DefaultTransport when it has none).
func withTransport(client *http.Client, wrap func(next http.RoundTripper) http.RoundTripper) *http.Client {
	c := *client
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = wrap(next)
	return &c
}

// bodyLimit caps every response body of the directory's client.
type bodyLimit struct {
	next http.RoundTripper
	max  int64
}

func (b bodyLimit) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if req.Method != http.MethodHead && resp.ContentLength > b.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s declares %d bytes, the limit is %d", safehttp.ErrBodyTooLarge, req.URL.Redacted(), resp.ContentLength, b.max)
	}
	safehttp.LimitBody(resp, b.max)
	return resp, nil
}

// checkPLCURL validates and normalises the PLC URL: indigo appends "/<did>",
// so it must be a bare origin.
func checkPLCURL(raw string, localDev bool) (string, error) {
	if raw == "" {
		return identity.DefaultPLCURL, nil
	}
	u, err := parseOrigin(raw)
	if err != nil {
		return "", fmt.Errorf("PLCURL: %w", err)
	}
	if u.Scheme == "http" {
		if !localDev {
			return "", fmt.Errorf("%w: PLCURL over plain http", ErrLocalDevOnly)
		}
		if !isLoopbackHost(u.Hostname()) {
			return "", fmt.Errorf("%w: PLCURL: plain http only to a loopback host, got %s", ErrInvalidOptions, u.Host)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

func checkLoopbackURL(raw string) error {
	u, err := parseOrigin(raw)
	if err != nil {
		return err
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("%w: %s is not a loopback host", ErrInvalidOptions, u.Host)
	}
	return nil
}

// parseOrigin accepts scheme://host[:port] with an optional trailing slash.
func parseOrigin(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%w: %q: scheme must be https", ErrInvalidOptions, raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%w: %q: want scheme://host[:port] only", ErrInvalidOptions, raw)
	}
	return u, nil
}

// isLoopbackHost is true for "localhost" and loopback IP literals; it does
// not resolve names, so it cannot be steered by DNS.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// splitHostPort splits "host:port" or returns host alone when there is no port.
func splitHostPort(hostport string) (host, port string, err error) {
	if !strings.Contains(hostport, ":") {
		return hostport, "", nil
	}
	return net.SplitHostPort(hostport)
}
