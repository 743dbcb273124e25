package serverurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every failure to read a registry address.
var ErrInvalid = errors.New("invalid registry address")

// ErrPlainHTTP is returned by BaseURL for an explicit http:// URL to a host
// that is not loopback when insecure was not requested: device secrets would
// cross the network in clear text.
var ErrPlainHTTP = errors.New("plain http to a non-loopback registry needs --insecure")

// maxAddressLength bounds what is parsed from stdin or the command line.
const maxAddressLength = 2048

// Key returns the registry key "host[:port]" for raw, which may carry an
// http(s) scheme and a path ("https://atcr.io/v2/"); both are dropped. The
// host is lowercased; a port is kept as given, because Docker treats
// "atcr.io" and "atcr.io:443" as different registries.
func Key(raw string) (string, error) {
	u, err := parse(raw)
	if err != nil {
		return "", err
	}
	return u.Host, nil
}

// BaseURL returns the URL the helper sends HTTP requests to: scheme and host,
// no path. A bare host means https, except loopback hosts (localhost,
// 127.0.0.0/8, [::1]) which mean http. insecure forces http. An explicit
// http:// scheme on another host is refused with ErrPlainHTTP unless insecure
// is set; an explicit https:// is always kept.
func BaseURL(raw string, insecure bool) (*url.URL, error) {
	u, err := parse(raw)
	if err != nil {
		return nil, err
	}
	scheme := u.Scheme
	switch {
	case insecure:
		scheme = "http"
	case scheme == "":
		scheme = "https"
		if IsLoopback(u.Hostname()) {
			scheme = "http"
		}
	case scheme == "http" && !IsLoopback(u.Hostname()):
		return nil, fmt.Errorf("%s: %w", u.Host, ErrPlainHTTP)
	}
	return &url.URL{Scheme: scheme, Host: u.Host}, nil
}

// IsLoopback reports whether host (no port, no brackets) names this machine:
// "localhost" or a loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parse reads raw into a URL with a validated, lowercased Host and the
// scheme given (or "" when there was none).
func parse(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(raw) > maxAddressLength {
		return nil, fmt.Errorf("%w: %d characters", ErrInvalid, len(raw))
	}
	withScheme := raw
	if !strings.Contains(raw, "://") {
		withScheme = "//" + raw
	}
	u, err := url.Parse(withScheme)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrInvalid, raw, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w %q: scheme %q is not http or https", ErrInvalid, raw, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w %q: credentials in the address", ErrInvalid, raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w %q: query or fragment", ErrInvalid, raw)
	}
	host := strings.ToLower(u.Hostname())
	if !validHost(host) {
		return nil, fmt.Errorf("%w %q: bad host name", ErrInvalid, raw)
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w %q: bad port", ErrInvalid, raw)
		}
		u.Host = net.JoinHostPort(host, port)
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, fmt.Errorf("%w %q: empty port", ErrInvalid, raw)
	} else if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	} else {
		u.Host = host
	}
	return u, nil
}

// validHost accepts DNS names made of [a-z0-9-_] labels and IP literals.
func validHost(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
