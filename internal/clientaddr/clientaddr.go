package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// DefaultTrustedProxies is loopback: Caddy on the same machine, as
// deploy/Caddyfile runs it.
var DefaultTrustedProxies = []string{"127.0.0.0/8", "::1/128"}

// Resolver finds a request's client address. Create it with New; a nil
// *Resolver trusts DefaultTrustedProxies. It is safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// defaultResolver backs a nil *Resolver.
var defaultResolver = mustNew(DefaultTrustedProxies)

// New returns a resolver that believes X-Forwarded-For from peers in
// trustedProxies (IP addresses or CIDR prefixes). An empty list trusts no
// one: every request's address is its TCP peer.
func New(trustedProxies []string) (*Resolver, error) {
	r := &Resolver{}
	for _, entry := range trustedProxies {
		if p, err := netip.ParsePrefix(entry); err == nil {
			r.trusted = append(r.trusted, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(entry)
		if err != nil || addr.Zone() != "" {
			return nil, fmt.Errorf("clientaddr: trusted proxy %q is not an IP address or CIDR prefix", entry)
		}
		addr = addr.Unmap()
		r.trusted = append(r.trusted, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return r, nil
}

func mustNew(trusted []string) *Resolver {
	r, err := New(trusted)
	if err != nil {
		panic(err)
	}
	return r
}

// Addr returns req's client address: the TCP peer, unless that is a
// trusted proxy; then the right-most X-Forwarded-For entry that is not a
// trusted proxy (or the left-most, if all are). An entry that does not
// parse ends the walk at the last trusted hop, so a garbled header groups
// its senders under their proxy rather than letting them pick an address.
// IPv4-mapped IPv6 addresses are returned as IPv4. The zero Addr means
// the peer address itself did not parse (never the case for a real
// connection).
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	if r == nil {
		r = defaultResolver
	}
	addr := parse(req.RemoteAddr)
	if !addr.IsValid() || !r.trustedProxy(addr) {
		return addr
	}
	hops := forwardedFor(req.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		hop := parse(hops[i])
		if !hop.IsValid() {
			return addr
		}
		addr = hop
		if !r.trustedProxy(hop) {
			return hop
		}
	}
	return addr
}

func (r *Resolver) trustedProxy(addr netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// forwardedFor lists every X-Forwarded-For entry, in order, across all the
// header's lines.
func forwardedFor(h http.Header) []string {
	var out []string
	for _, line := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(line, ",") {
			out = append(out, strings.TrimSpace(hop))
		}
	}
	return out
}

// parse reads "ip", "ip:port" or "[ipv6]:port", without zone.
func parse(s string) netip.Addr {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}
	}
	return addr.Unmap()
}

// Key is the unit one client controls, for counting per client: the
// address itself for IPv4, its /64 for IPv6 (one host usually gets a whole
// /64, so counting single IPv6 addresses would count nothing). The zero
// Addr gives the zero Prefix, one key for every unknown address.
func Key(addr netip.Addr) netip.Prefix {
	if !addr.IsValid() {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(64)
	return p
}
