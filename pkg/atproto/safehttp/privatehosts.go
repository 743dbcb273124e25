package safehttp

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// ErrInvalidPrivateHost is returned (wrapped) by ParsePrivateHosts for an
// entry that is neither a host name, a "*." wildcard, an IP address nor a
// CIDR prefix.
var ErrInvalidPrivateHost = errors.New("invalid private host entry")

// PrivateHosts names the private services of one deployment — its PLC, PDS
// and holds on an internal network — that a guarded client may reach although
// their addresses are not public. Build it with ParsePrivateHosts; the zero
// value names nothing.
//
// Two kinds of entry, with different reach:
//
//   - A host name ("pds.internal") or a wildcard ("*.pds.internal": every name
//     below it, not the name itself) lifts the address check for connections
//     to that name, wherever its DNS points. Users can then make the server
//     fetch from that service, and from nothing else internal: a did:web or
//     handle of their own that resolves to a private address is still
//     refused.
//   - An IP address or CIDR prefix ("10.0.0.7", "10.20.0.0/16") allows those
//     addresses whatever name led there, including names a user controls.
//     Prefer names.
//
// Neither permits plain http.
type PrivateHosts struct {
	names    []string       // lowercase, without trailing dot
	suffixes []string       // ".pds.internal" for "*.pds.internal"
	prefixes []netip.Prefix // masked
}

// hostNamePattern is a DNS name of letter-digit-hyphen labels (underscores
// allowed, as some internal zones use them), at least one label.
var hostNamePattern = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$`)

// ParsePrivateHosts reads the operator's list (config key
// identity.private_hosts). Entries are case-insensitive; a trailing dot is
// ignored. An invalid entry is an error naming it.
func ParsePrivateHosts(entries []string) (PrivateHosts, error) {
	var p PrivateHosts
	for _, raw := range entries {
		entry := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), ".")
		if prefix, err := netip.ParsePrefix(entry); err == nil {
			p.prefixes = append(p.prefixes, prefix.Masked())
			continue
		}
		if addr, err := netip.ParseAddr(entry); err == nil && addr.Zone() == "" {
			p.prefixes = append(p.prefixes, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
			continue
		}
		if rest, ok := strings.CutPrefix(entry, "*."); ok && validHostName(rest) {
			p.suffixes = append(p.suffixes, "."+rest)
			continue
		}
		if validHostName(entry) {
			p.names = append(p.names, entry)
			continue
		}
		return PrivateHosts{}, fmt.Errorf("%w: %q: want a host name, *.domain, an IP address or a CIDR prefix", ErrInvalidPrivateHost, raw)
	}
	return p, nil
}

func validHostName(s string) bool {
	return len(s) <= 253 && hostNamePattern.MatchString(s)
}

// Empty reports whether the list names nothing.
func (p PrivateHosts) Empty() bool {
	return len(p.names) == 0 && len(p.suffixes) == 0 && len(p.prefixes) == 0
}

// allowsHost reports whether connections to host (a URL's host name, as
// the transport dials it) skip the address check.
func (p PrivateHosts) allowsHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, n := range p.names {
		if host == n {
			return true
		}
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// allowsAddr reports whether addr lies in a listed address or prefix.
func (p PrivateHosts) allowsAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, prefix := range p.prefixes {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}
