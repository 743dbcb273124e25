// Package pdstest is a narrow fake of a user's PDS for unit tests of the
// AppView's token endpoint, app-password sessions and service tokens:
// createSession, refreshSession, deleteSession, getServiceAuth, getRecord
// and putRecord over real HTTP (httptest), with a clock the test controls,
// per-method call counters, and refresh-token rotation like the reference
// PDS (a used refresh token is revoked). Tokens are HS256 JWTs carrying the
// claims the real PDS sets (sub, scope, exp; iss/aud/lxm for service
// tokens), but their signatures mean nothing outside this fake. The
// end-to-end suite exercises the real reference PDS.
package pdstest
