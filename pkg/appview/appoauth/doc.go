// Package appoauth makes the AppView an ATProto OAuth client, on indigo's
// atproto/auth/oauth (imported as indigooauth).
//
// The client is confidential: it authenticates to the user's authorization
// server with private_key_jwt, signed by a P-256 key created on first start
// and kept in <data_dir>/oauth (the PDS caches a client's keys, so the key
// must not change across restarts). Its client_id is
// <base_url>/oauth-client-metadata.json and its redirect URI
// <base_url>/auth/oauth/callback. Under insecure_local_dev it is indigo's
// public loopback client instead. PAR, PKCE and DPoP (with its nonces) are
// indigo's; this package supplies what indigo leaves to the application:
//
//   - the guarded HTTP client and the project's identity directory, in place
//     of indigo's public-internet-only defaults (Options.HTTPClient,
//     Options.Directory);
//   - Store, indigo's ClientAuthStore on the AppView database, so OAuth
//     sessions (tokens, DPoP keys) survive restarts;
//   - one live OAuth session per account with a per-account lock around
//     refresh, because two indigo ClientSession values refreshing the same
//     grant would replay its refresh token;
//   - a start-up check that drops OAuth sessions whose scopes differ, as
//     sets, from the configured ones (ResolveScopes, ScopesCover,
//     SameScopes);
//   - APIClient, a PDS client authenticated through the user's OAuth
//     session: one of the two sources pkg/appview/actas chooses from when
//     the AppView acts as a user (the other is the app-password session of
//     pkg/appview/apppassword). Service tokens are minted there.
//
// The browser side of the login (cookies, redirects, pages) is
// pkg/appview/ui's; see docs/oauth.md, and docs/auth.md for the vocabulary.
package appoauth
