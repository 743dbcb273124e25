// Package devices is the device authorization flow (RFC 8628) through which
// the credential helper (docker-credential-atcr) gets a device secret, and
// the credential verifier that accepts those secrets at /auth/token.
//
// The helper POSTs /auth/device/code and shows the user a code such as
// BCDF-GHJK; the user approves it on the /device page while logged in
// (pkg/appview/ui calls Pending, Approve and Deny); meanwhile the helper polls
// /auth/device/token and, once approved, receives atcr_dev_<32 random
// bytes> exactly once. Requests expire after ten minutes, device codes are
// stored as SHA-256 and are single-use, user codes ignore case and the dash.
//
// A device secret is stored only as a bcrypt hash, next to a 32-bit hint
// (the start of its SHA-256) that picks the one row to compare. Verify is
// the first link of the AppView's verifier chain: secrets with the
// atcr_dev_ prefix are checked here, and every other secret goes on to the
// caching app-password verifier. The device's row is read on every call, so
// revoking a device in /settings takes effect at once; only the bcrypt
// result is cached (for ten minutes, keyed by an HMAC of the stored hash and
// the secret), so a repeated login costs a query and an HMAC, not a bcrypt.
// Failed comparisons are throttled per lookup hint and per client address
// (verify.go). See .notes/device-contract.md and docs/oauth.md.
package devices
