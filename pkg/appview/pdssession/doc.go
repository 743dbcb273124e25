// Package pdssession keeps the PDS sessions the AppView holds on behalf of
// its users and hands out clients and service tokens made from them.
//
// An app-password login (Login, called by pkg/appview/auth) runs
// com.atproto.server.createSession on the user's PDS and stores the
// resulting access and refresh tokens in the database. The registry then
// asks for:
//
//   - Client: an indigo atclient.APIClient authenticated as the user, for
//     writing io.atcr.* records. It uses indigo's PasswordAuth, whose own
//     refresh machinery renews the access token when the PDS answers
//     ExpiredToken; a refresh callback persists the rotated tokens. Client
//     also refreshes ahead of time when the stored access token is about to
//     expire. One PasswordAuth exists per DID, so its lock serialises
//     refreshes: concurrent requests cause one refreshSession call.
//   - ServiceToken: a com.atproto.server.getServiceAuth token for (aud, lxm),
//     cached until shortly before it expires, with concurrent misses for the
//     same key collapsed into one PDS call (pkg/appview/servicetoken).
//
// Every PDS call goes through the guarded HTTP client (pkg/atproto/safehttp).
package pdssession
