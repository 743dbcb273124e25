// Package ratelimit is a per-key token bucket with a bounded key table,
// and the client address a request is limited by.
//
// A Limiter keeps one bucket per key (a client address, a DID): Rate tokens
// per second up to Burst, one token per request. The table holds at most
// MaxKeys buckets and evicts the least recently used one to make room, so
// its memory is bounded (keys longer than maxKeyBytes are stored as their
// SHA-256); an evicted key simply starts again with a full bucket. Time
// comes from a clock function, so tests use internal/testclock.
//
// ClientAddr names the client of a request for limiting: the connection's
// peer address, or — only when that peer is a configured trusted proxy
// (Caddy in front of the service) — the right-most address in
// X-Forwarded-For that is not itself a trusted proxy. A client cannot
// choose its own key by sending X-Forwarded-For to a server it reaches
// directly.
package ratelimit
