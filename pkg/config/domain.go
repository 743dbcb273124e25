package config

import (
	"net/url"
	"regexp"
	"strings"
)

// dnsName is a host name as an operator puts it in DNS: labels of letters,
// digits and inner hyphens, 1-63 characters each, separated by dots.
var dnsName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// originFromDomain is the public URL a server gets from its domain key
// (APPVIEW_DOMAIN, HOLD_DOMAIN) when its URL key is not set: the deployment
// files (deploy/.env.example, the Caddyfile) name each server by its host,
// and behind Caddy that host is served over https on the default port. A
// domain that is not a host name makes no URL: its own error is the one to
// read (checker.domain).
func originFromDomain(publicURL, domain string) string {
	if publicURL != "" || !validDomain(domain) {
		return publicURL
	}
	return "https://" + domain
}

// domain checks a domain key: a bare host name, and, when the URL key was
// set as well, the same host as that URL (two names for one server are a
// mistake the operator should hear about, not one the server picks from).
func (c *checker) domain(key, domain, urlKey, publicURL string) {
	if domain == "" {
		return
	}
	if !validDomain(domain) {
		c.fail(key, "%q is not a host name (write it without scheme, port or path, e.g. atcr.example.com)", domain)
		return
	}
	u, err := url.Parse(publicURL)
	if err != nil {
		return // the URL's own check reports it
	}
	if !strings.EqualFold(u.Hostname(), domain) || u.Port() != "" {
		c.fail(key, "%q names another host than %s %q; set one of the two, or make them agree", domain, urlKey, publicURL)
	}
}

func validDomain(domain string) bool { return len(domain) <= 253 && dnsName.MatchString(domain) }
