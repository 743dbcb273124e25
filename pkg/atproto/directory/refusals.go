package directory

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/safehttp"
)

// Identities this directory will never resolve are "not found", not "the
// directory is unavailable": a caller answers the first with 401 or 404
// and the second with 502 and Retry-After, which invites a client to
// retry something that cannot succeed. Two kinds exist:
//
//   - DIDs whose shape no resolver here accepts: a method other than plc
//     and web, or a did:web whose identifier is not a host name indigo
//     fetches (an IP address, a port outside local development, a
//     disallowed TLD such as .local). unresolvableDID says so before
//     anything is fetched.
//   - Fetches the guarded client refuses because the host a DID document
//     or a handle names is private (safehttp.ErrForbiddenAddress) or the
//     scheme is not allowed. The PLC directory is the operator's own
//     setting, so a refusal there stays an outage the operator must see.

// errRefusedHost marks a fetch refused for a host that an identity named.
var errRefusedHost = errors.New("the identity's host may not be contacted")

// markRefusals returns a copy of client whose refusals of hosts other than
// plcURL's are marked with errRefusedHost.
func markRefusals(client *http.Client, plcURL string) *http.Client {
	plcHost := ""
	if u, err := url.Parse(plcURL); err == nil {
		plcHost = u.Host
	}
	return withTransport(client, func(next http.RoundTripper) http.RoundTripper {
		return refusalMarker{next: next, plcHost: plcHost}
	})
}

// refusalMarker wraps the directory's transport and marks the guarded
// client's refusals of any host but the PLC directory's with
// errRefusedHost.
type refusalMarker struct {
	next    http.RoundTripper
	plcHost string
}

func (m refusalMarker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(req)
	if err != nil && req.URL.Host != m.plcHost &&
		(errors.Is(err, safehttp.ErrForbiddenAddress) || errors.Is(err, safehttp.ErrForbiddenScheme)) {
		return nil, fmt.Errorf("%w: %w", errRefusedHost, err)
	}
	return resp, err
}

// refusedAsMissing adds notFound (identity.ErrDIDNotFound or
// identity.ErrHandleNotFound) to an error caused by a refused host.
func refusedAsMissing(err, notFound error) error {
	if err != nil && errors.Is(err, errRefusedHost) && !errors.Is(err, notFound) {
		return fmt.Errorf("%w: %w", notFound, err)
	}
	return err
}

// unresolvableDID returns an error wrapping identity.ErrDIDNotFound when
// did is of a shape no resolver here fetches, nil otherwise. The rules are
// indigo's BaseDirectory's, plus the loopback did:web that local
// development resolves over http (localdev.go).
func unresolvableDID(did syntax.DID, localDev bool) error {
	switch did.Method() {
	case "plc":
		return nil
	case "web":
		if localDev {
			if _, ok := loopbackDIDWebURL(did); ok {
				return nil
			}
		}
		host, err := syntax.ParseHandle(did.Identifier())
		if err != nil {
			return fmt.Errorf("%w: %s: a did:web must name a host by its DNS name", identity.ErrDIDNotFound, did)
		}
		if !host.AllowedTLD() {
			return fmt.Errorf("%w: %s: host name with a disallowed TLD", identity.ErrDIDNotFound, did)
		}
		return nil
	}
	return fmt.Errorf("%w: %s: DID method %q is not supported (did:plc and did:web are)", identity.ErrDIDNotFound, did, did.Method())
}
