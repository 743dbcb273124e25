package safehttp

import (
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
	// AllowPrivateNetworks permits connections to private, loopback,
	// link-local and other non-public addresses. For test stacks whose names
	// resolve to 127.0.0.1 and for private deployments
	// (identity.allow_private_networks), and implied by insecure_local_dev.
	// It does not permit plain http.
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
// check unless AllowPrivateNetworks is set.
func New(opts Options) *http.Client {
	opts = opts.withDefaults()
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	if !opts.AllowPrivateNetworks {
		dialer.Control = dialControl
	}
	base := &http.Transport{
		// No proxy, explicitly: a proxy from HTTPS_PROXY would make the dialer
		// connect to the proxy, so the address check would vet the proxy and
		// not the target.
		Proxy:       nil,
		DialContext: dialer.DialContext,
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
	if opts.AllowPrivateNetworks {
		return nil
	}
	if addr, err := netip.ParseAddr(host); err == nil {
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

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
