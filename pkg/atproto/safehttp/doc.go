// Package safehttp builds the one guarded HTTP client used for every
// server-side fetch of a URL a user can influence: DID documents, PDS and hold
// endpoints, README URLs.
//
// The client only speaks https (plain http only when explicitly allowed), pins
// TLS 1.2 or newer, ignores proxy environment variables, follows at most a few
// redirects and re-checks each hop, caps response bodies and total time, and
// refuses to connect to private, loopback, link-local and other non-public
// addresses. The address check runs in the dialer on the resolved IP, so a
// name that resolves (or re-resolves, DNS rebinding) to an internal address is
// refused at connect time, whatever the URL said.
//
// Two switches relax it, and they mean different things:
//
//   - AllowPrivateNetworks permits private and loopback *addresses*. Test stacks
//     whose host names resolve to 127.0.0.1 and private deployments set it
//     (config key identity.allow_private_networks). https is still required.
//   - AllowPlainHTTP permits http:// URLs, and only takes effect together with
//     AllowPrivateNetworks. Only insecure_local_dev sets it.
package safehttp
