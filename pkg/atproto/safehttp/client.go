package safehttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Defaults applied when the matching Options field is zero.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	DefaultMaxRedirects     = 3
	DefaultUserAgent        = "atcr (+https://atcr.io)"
)

// Sentinel errors, returned wrapped (inside *url.Error for client calls).
var (
	// ErrForbiddenScheme: the URL (or a redirect target) is not https, or is
	// http while plain http is not allowed.
	ErrForbiddenScheme = errors.New("URL scheme not allowed")
	// ErrTooManyRedirects: the redirect chain is longer than MaxRedirects.
	ErrTooManyRedirects = errors.New("too many redirects")
)

// Options configures New. The zero value is the production setting.
type Options struct {
	// PrivateHosts names the deployment's own private services (its PLC,
	// PDS, holds) that may be reached although their addresses are not
	// public (identity.private_hosts). Every other non-public address stays
	// refused. It does not permit plain http.
	PrivateHosts PrivateHosts
	// AllowPrivateNetworks permits connections to every private, loopback,
	// link-local and other non-public address, for every URL. Only
	// insecure_local_dev should set it (and the deprecated
	// identity.allow_private_networks, which PrivateHosts replaces): with
	// it, any user can make the server connect to any internal https
	// service. It does not permit plain http either.
	AllowPrivateNetworks bool
	// AllowPlainHTTP permits http:// URLs. It only takes effect together with
	// AllowPrivateNetworks; only insecure_local_dev sets it.
	AllowPlainHTTP bool
	// Timeout bounds a whole exchange, body included. Default 10s.
	Timeout time.Duration
	// MaxResponseBytes caps every response body; reading past it fails with
	// ErrBodyTooLarge. Default 1 MiB.
	MaxResponseBytes int64
	// MaxRedirects is how many redirects are followed. Default 3; negative
	// means none.
	MaxRedirects int
	// UserAgent is sent when the request sets none. Default DefaultUserAgent.
	UserAgent string
	// RootCAs replaces the system roots when set (tests, private CAs). nil
	// means the system pool, which honours SSL_CERT_FILE.
	RootCAs *x509.CertPool
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	} else if o.MaxRedirects < 0 {
		o.MaxRedirects = 0
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	return o
}

// plainHTTPAllowed: http needs both switches, so a config that only sets
// AllowPlainHTTP cannot downgrade fetches to public hosts.
func (o Options) plainHTTPAllowed() bool {
	return o.AllowPlainHTTP && o.AllowPrivateNetworks
}

// New returns the guarded client. Every request, including each redirect hop,
// passes the scheme and host checks; every connection passes the address
// check unless its host is named in PrivateHosts or AllowPrivateNetworks is
// set.
func New(opts Options) *http.Client {
	opts = opts.withDefaults()
	base := &http.Transport{
		// No proxy, explicitly: a proxy from HTTPS_PROXY would make the dialer
		// connect to the proxy, so the address check would vet the proxy and
		// not the target — and the host name dial sees would be the proxy's.
		Proxy:       nil,
		DialContext: newDialer(opts).DialContext,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    opts.RootCAs,
		},
		// A custom DialContext turns HTTP/2 off unless asked for.
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    opts.Timeout,
		ResponseHeaderTimeout:  opts.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
	}
	return &http.Client{
		Transport:     &guardedTransport{base: base, opts: opts},
		Timeout:       opts.Timeout,
		CheckRedirect: checkRedirect(opts),
	}
}

// guardedTransport checks each outgoing request and caps each response body.
// It sits in the RoundTripper so redirect hops are checked the same way as
// the first request.
type guardedTransport struct {
	base *http.Transport
	opts Options
}

// RoundTrip implements http.RoundTripper.
func (t *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkURL(req, t.opts); err != nil {
		closeBody(req)
		return nil, err
	}
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.opts.UserAgent)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	// A HEAD response declares the size of a body it does not carry.
	if req.Method != http.MethodHead && resp.ContentLength > t.opts.MaxResponseBytes {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s declares %d bytes, limit %d",
			ErrBodyTooLarge, req.URL.Redacted(), resp.ContentLength, t.opts.MaxResponseBytes)
	}
	LimitBody(resp, t.opts.MaxResponseBytes)
	return resp, nil
}

// checkURL enforces the scheme allow-list and refuses IP-literal hosts that
// the dialer would refuse anyway, so the error names the URL rather than a
// socket address.
func checkURL(req *http.Request, opts Options) error {
	u := req.URL
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !opts.plainHTTPAllowed() {
			return fmt.Errorf("%w: %s: plain http needs AllowPlainHTTP and AllowPrivateNetworks (insecure_local_dev)",
				ErrForbiddenScheme, u.Redacted())
		}
	default:
		return fmt.Errorf("%w: %q in %s", ErrForbiddenScheme, u.Scheme, u.Redacted())
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: %s has no host", ErrForbiddenAddress, u.Redacted())
	}
	if opts.AllowPrivateNetworks || opts.PrivateHosts.allowsHost(host) {
		return nil
	}
	if addr, err := netip.ParseAddr(host); err == nil && !opts.PrivateHosts.allowsAddr(addr) {
		if err := CheckAddr(addr); err != nil {
			return fmt.Errorf("%s: %w%s", u.Redacted(), err, privateHint)
		}
	}
	return nil
}

// checkRedirect bounds the redirect chain and re-checks each target before
// the client builds the next request.
func checkRedirect(opts Options) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > opts.MaxRedirects {
			return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, opts.MaxRedirects)
		}
		if err := checkURL(req, opts); err != nil {
			return fmt.Errorf("redirect refused: %w", err)
		}
		return nil
	}
}

// guardedDialer picks, per connection, whether the address check applies:
// not for a host the operator named in PrivateHosts, for every other host.
// The transport dials the URL's host name (no proxy), so the name it
// passes is the one the operator listed, not something a DNS answer chose.
type guardedDialer struct {
	checked   *net.Dialer // Control runs the address check on the resolved IP
	unchecked *net.Dialer
	private   PrivateHosts
	allowAll  bool
}

func newDialer(opts Options) *guardedDialer {
	return &guardedDialer{
		checked:   &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second, Control: dialControl(opts.PrivateHosts)},
		unchecked: &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second},
		private:   opts.PrivateHosts,
		allowAll:  opts.AllowPrivateNetworks,
	}
}

// DialContext is the transport's dial function.
func (d *guardedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if d.allowAll {
		return d.unchecked.DialContext(ctx, network, address)
	}
	if host, _, err := net.SplitHostPort(address); err == nil && d.private.allowsHost(host) {
		return d.unchecked.DialContext(ctx, network, address)
	}
	return d.checked.DialContext(ctx, network, address)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
