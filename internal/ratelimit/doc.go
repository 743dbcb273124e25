// Package ratelimit is a per-key token bucket with a bounded key table,
// and the middleware that gives each request its client key.
//
// A Limiter keeps one bucket per key (a client address, a DID): Rate tokens
// per second up to Burst, one token per request. The table holds at most
// MaxKeys buckets and evicts the least recently used one to make room, so
// its memory is bounded (keys longer than maxKeyBytes are stored as their
// SHA-256); an evicted key simply starts again with a full bucket. Blocked
// looks at a bucket without taking a token, for limits that charge only
// failures (remote scan workers' secret checks). Time
// comes from a clock function, so tests use internal/testclock.
//
// With Config.Redis the buckets live in Redis (shared.go: one hash per key,
// refilled and charged by one script), so the AppViews of a cluster share
// each client's budget; when Redis fails or is slow, the local table counts.
//
// ClientMiddleware names the client of a request for limiting with
// internal/clientaddr (the peer, or X-Forwarded-For only from a trusted
// proxy), by the unit one client controls (an IPv4 address, an IPv6 /64),
// and puts it in the request's context for limits applied deep inside it
// (ClientFrom).
package ratelimit
