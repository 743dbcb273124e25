// Package auth is the AppView's Docker token service: GET (and OAuth2
// password-grant POST) /auth/token, the registry tokens it issues, and the
// access.Controller the /v2 API uses to check them.
//
// A client sends HTTP Basic credentials — a handle or DID and a credential:
// an ATProto app password, or the device secret of a credential helper — to
// /auth/token. A CredentialVerifier checks them (the app-password one runs
// com.atproto.server.createSession on the user's PDS and keeps the
// app-password session it gets through pkg/appview/apppassword; device
// secrets are pkg/appview/devices'); successful app-password checks are
// cached for a few minutes under an HMAC of DID and password, and failed
// ones are throttled per account and client address (loginthrottle.go), so
// a stranger guessing from elsewhere cannot lock the owner out. A login
// whose PDS or identity resolution fails gets 502 with Retry-After, as /v2
// answers the same outage. The service
// then signs the registry token, an ES256 JWT whose access claim lists what
// the token allows: pull on any repository (records are public), push and
// delete only on repositories whose first path component is the user's own
// handle or DID. Requests without credentials get an anonymous, pull-only
// token.
//
// Controller reads that token from the Authorization header of /v2 requests.
// A missing or invalid token yields an access.Challenge (401 with
// WWW-Authenticate: Bearer realm=…); an authenticated user asking to write
// someone else's repository gets an *oci.Error with code DENIED (403).
//
// See docs/auth.md for the vocabulary, the flow, the claims and where keys
// are kept.
package auth
