// Package authclient is the helper's HTTP client for the AppView's login
// endpoints: the device authorization flow (RFC 8628: POST /auth/device/code,
// then polling POST /auth/device/token) and a credential check against
// GET /auth/token.
//
// The shapes follow the device contract shared with the AppView
// (.notes/device-contract.md in the repository). Every response body is read
// through a size limit, and failures are sorted into sentinel errors the CLI
// turns into advice: unreachable registry, TLS trust, no device login on this
// registry, code expired, login denied, secret revoked.
package authclient
