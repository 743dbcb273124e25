// Package clientaddr tells which address a request came from, for both
// binaries.
//
// ATCR runs behind a reverse proxy (Caddy), so the TCP peer of most
// requests is the proxy. The proxy appends the address it saw to
// X-Forwarded-For, but anyone can send that header: it is believed only
// when the peer is a trusted proxy (config key server.trusted_proxies,
// default loopback), and then read from the right, skipping further trusted
// proxies, so a client cannot choose its own address by sending a forged
// header through the proxy.
//
// Key groups addresses into the unit one client controls — an IPv4 address,
// an IPv6 /64 — for anything that counts per client (login throttling in
// pkg/appview/auth and pkg/appview/devices, rate limits through
// internal/ratelimit).
//
//	addrs, _ := clientaddr.New([]string{"127.0.0.0/8", "::1/128"})
//	key := clientaddr.Key(addrs.Addr(r))
package clientaddr
