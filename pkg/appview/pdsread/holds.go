package pdsread

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

// ParseHold reads a hold as records name it: a DID, or the URL form older
// records carry, which names the did:web of its host
// ("https://hold.example:8443" → "did:web:hold.example%3A8443").
func ParseHold(v string) (syntax.DID, error) {
	if strings.HasPrefix(v, "did:") {
		return syntax.ParseDID(v)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.User != nil {
		return "", fmt.Errorf("hold %q is neither a DID nor an http(s) URL", v)
	}
	id := "did:web:" + strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" {
		id += "%3A" + p
	}
	return syntax.ParseDID(id)
}

// ManifestHold is the hold a manifest record names: holdDid, else the
// deprecated holdEndpoint URL of old records.
func ManifestHold(m *atcr.Manifest) (syntax.DID, error) {
	hold := m.HoldDID
	if hold == "" {
		hold = m.HoldEndpoint
	}
	return ParseHold(hold)
}
