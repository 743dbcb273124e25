package safehttp

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrForbiddenAddress is returned (wrapped) when a request would connect to an
// address outside the public internet that Options.PrivateHosts does not
// name (and AllowPrivateNetworks is off).
var ErrForbiddenAddress = errors.New("destination address not allowed")

// privateHint ends every refusal of a private target, so the operator who
// meets it knows how to name a private service of their own.
const privateHint = " (name the host in PrivateHosts / identity.private_hosts to permit it)"

// blockedRange is a prefix that never holds a public service, with the reason
// shown in errors so an operator can see why a fetch was refused.
type blockedRange struct {
	prefix netip.Prefix
	reason string
}

// blockedRanges lists the special-purpose ranges (IANA IPv4/IPv6
// special-purpose registries) that a guarded fetch may not reach.
var blockedRanges = func() []blockedRange {
	table := []struct{ cidr, reason string }{
		{"0.0.0.0/8", "unspecified (this-network) address"},
		{"10.0.0.0/8", "private address"},
		{"100.64.0.0/10", "carrier-grade NAT address"},
		{"127.0.0.0/8", "loopback address"},
		{"169.254.0.0/16", "link-local address"},
		{"172.16.0.0/12", "private address"},
		{"192.0.0.0/24", "IETF protocol assignment"},
		{"192.0.2.0/24", "documentation address"},
		{"192.88.99.0/24", "6to4 relay anycast address"},
		{"192.168.0.0/16", "private address"},
		{"198.18.0.0/15", "benchmarking address"},
		{"198.51.100.0/24", "documentation address"},
		{"203.0.113.0/24", "documentation address"},
		{"224.0.0.0/4", "multicast address"},
		{"240.0.0.0/4", "reserved address"},
		{"::/128", "unspecified address"},
		{"::1/128", "loopback address"},
		// After ::/128 and ::1/128, which it contains, so they keep their names.
		{"::/96", "IPv4-compatible address (deprecated)"},
		{"::ffff:0:0/96", "IPv4-mapped address"},
		{"64:ff9b:1::/48", "local-use NAT64 address"},
		{"100::/64", "discard-only address"},
		{"2001::/23", "IETF protocol assignment"},
		{"2001:db8::/32", "documentation address"},
		{"3fff::/20", "documentation address"},
		{"5f00::/16", "SRv6 SID address"},
		{"fc00::/7", "unique-local (private) address"},
		{"fe80::/10", "link-local address"},
		{"fec0::/10", "site-local address"},
		{"ff00::/8", "multicast address"},
	}
	out := make([]blockedRange, 0, len(table))
	for _, e := range table {
		out = append(out, blockedRange{netip.MustParsePrefix(e.cidr), e.reason})
	}
	return out
}()

// Prefixes whose addresses embed an IPv4 address: the embedded address must
// pass the IPv4 check too, or 64:ff9b::a00:1 would reach 10.0.0.1.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// CheckAddr reports whether addr is a public unicast address a guarded fetch
// may connect to. The error wraps ErrForbiddenAddress and names the range.
func CheckAddr(addr netip.Addr) error {
	if !addr.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrForbiddenAddress)
	}
	// A zone (fe80::1%eth0) only exists on link-local addresses, but be explicit.
	if addr.Zone() != "" {
		return fmt.Errorf("%w: %s: scoped address", ErrForbiddenAddress, addr)
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return fmt.Errorf("%w: %s is a %s", ErrForbiddenAddress, addr, r.reason)
		}
	}
	if embedded, ok := embeddedIPv4(addr); ok {
		if err := CheckAddr(embedded); err != nil {
			return fmt.Errorf("%w: %s embeds %s", ErrForbiddenAddress, addr, embedded)
		}
	}
	return nil
}

// embeddedIPv4 returns the IPv4 address carried by a NAT64 or 6to4 address.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	b := addr.As16()
	switch {
	case addr.Is6() && nat64Prefix.Contains(addr):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case addr.Is6() && sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// dialControl returns the net.Dialer.Control hook: it sees the address the
// socket is about to connect to, after DNS resolution, so it cannot be fooled
// by a host name or by a resolver that answers differently on the second
// query. Addresses in private's prefixes pass.
func dialControl(private PrivateHosts) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		switch network {
		case "tcp4", "tcp6":
		default:
			return fmt.Errorf("%w: network %q", ErrForbiddenAddress, network)
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: unparsable dial address %q", ErrForbiddenAddress, address)
		}
		if private.allowsAddr(ap.Addr()) {
			return nil
		}
		if err := CheckAddr(ap.Addr()); err != nil {
			return fmt.Errorf("%w%s", err, privateHint)
		}
		return nil
	}
}
