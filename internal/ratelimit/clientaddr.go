package ratelimit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the peers whose X-Forwarded-For is believed.
type TrustedProxies []netip.Prefix

// LoopbackProxies trusts 127.0.0.0/8 and ::1: a reverse proxy on the same
// machine, the default deployment (Caddy in front).
var LoopbackProxies = TrustedProxies{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// ParseTrustedProxies parses addresses and CIDR prefixes ("10.0.0.5",
// "10.0.0.0/8", "::1").
func ParseTrustedProxies(values []string) (TrustedProxies, error) {
	out := make(TrustedProxies, 0, len(values))
	for _, v := range values {
		v = strings.TrimSpace(v)
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", v)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (t TrustedProxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address that identifies the request's client: the
// peer of the connection, unless the peer is a trusted proxy, in which case
// the right-most X-Forwarded-For entry that is not a trusted proxy (the
// address the first trusted proxy saw). Entries a client put in front of
// that are ignored. An unparsable peer is returned as is.
func ClientAddr(r *http.Request, trusted TrustedProxies) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !trusted.contains(peer) {
		return peer.String()
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // garbage from here leftwards: stop at the last good hop
		}
		a = a.Unmap()
		if !trusted.contains(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

// forwardedFor splits X-Forwarded-For header values into addresses, in
// order (left = furthest from us).
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}
