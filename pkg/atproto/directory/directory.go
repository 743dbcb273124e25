package directory

import (
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
	DefaultCacheTTL = time.Hour
	DefaultErrTTL   = 2 * time.Minute
	DefaultCapacity = 100_000
)

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
	// Capacity bounds the number of cached identities and handles. Default 100000.
	Capacity int
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
	base := &identity.BaseDirectory{
		PLCURL:     plcURL,
		HTTPClient: *client,
		// Asking a handle's own authoritative nameserver sends UDP to an
		// address the handle's owner chooses, outside the guarded client.
		TryAuthoritativeDNS: false,
		// bsky.social handles only resolve over the https well-known.
		SkipDNSDomainSuffixes: []string{".bsky.social"},
	}

	var inner identity.Directory = base
	if opts.InsecureLocalDev {
		inner = &verifyingDirectory{res: &localDevResolver{
			base:              base,
			client:            client,
			handleResolverURL: strings.TrimRight(opts.HandleResolverURL, "/"),
		}}
	}

	ttl, errTTL, capacity := opts.CacheTTL, opts.ErrTTL, opts.Capacity
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if errTTL <= 0 {
		errTTL = DefaultErrTTL
	}
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return identity.NewCacheDirectory(inner, capacity, ttl, errTTL, errTTL), nil
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
