package config

import (
	"net/netip"
	"regexp"
	"strings"
)

// hostNamePattern is a DNS name of letter-digit-hyphen labels (underscores
// allowed, as some internal zones use them). safehttp.ParsePrivateHosts
// applies the same rule; config checks it here so that a bad entry is
// reported with its key and line like every other value.
var hostNamePattern = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$`)

// privateHosts checks identity.private_hosts: each entry a host name, a
// "*." wildcard, an IP address or a CIDR prefix — never a URL or host:port.
func (c *checker) privateHosts(key string, entries []string) {
	for _, raw := range entries {
		entry := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), ".")
		if _, err := netip.ParsePrefix(entry); err == nil {
			continue
		}
		if addr, err := netip.ParseAddr(entry); err == nil && addr.Zone() == "" {
			continue
		}
		name := strings.TrimPrefix(entry, "*.")
		if len(name) <= 253 && hostNamePattern.MatchString(name) {
			continue
		}
		c.fail(key, "%q is not a host name, *.domain, IP address or CIDR prefix (no scheme, port or path)", raw)
	}
}
