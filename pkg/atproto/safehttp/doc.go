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
// Three options relax it, and they mean different things:
//
//   - PrivateHosts names the deployment's own private services (its PLC, PDS,
//     holds), by host name or by address/CIDR (config key
//     identity.private_hosts, parsed by ParsePrivateHosts). Connections to a
//     named host skip the address check; every other private address stays
//     refused, so users cannot point the server at the rest of the internal
//     network. https is still required.
//   - AllowPrivateNetworks permits every private and loopback *address*, for
//     every URL. insecure_local_dev sets it, and so does the deprecated
//     identity.allow_private_networks. https is still required.
//   - AllowPlainHTTP permits http:// URLs, and only takes effect together with
//     AllowPrivateNetworks. Only insecure_local_dev sets it.
package safehttp
