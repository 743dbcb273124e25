// Package servicetoken mints and caches the service tokens the AppView
// sends to holds: com.atproto.server.getServiceAuth on the user's PDS, asked
// for through a PDS client authenticated as that user (ClientFunc).
// pkg/appview/actas decides which of the user's sessions that client comes
// from, and keeps one Cache per kind of session (OAuth, app password).
//
// A Cache keeps one token per (did, aud, lxm) in a bounded LRU until Margin
// before it expires, and collapses concurrent misses for one key into one
// PDS call (singleflight), run detached from the request that started it
// because every waiting request uses its result. When the PDS refuses the
// expiry we ask for (BadExpiration: our clock and its disagree) the mint is
// retried without one, taking the PDS's default lifetime. The token's own
// exp claim wins when it is earlier than the one asked for.
//
// With Options.Redis (shared.go) a minted token is also kept in Redis until
// Margin before it expires, and a miss looks there before minting, so the
// AppViews of a cluster mint one token per key between them; Redis failing
// only means minting as without it.
//
// Expiry reads the exp claim of any JWT a PDS hands the AppView (service
// tokens, the access tokens of OAuth and app-password sessions) without
// verifying it: it only schedules refreshes and cache lifetimes, and the
// PDS checks its own tokens.
package servicetoken
