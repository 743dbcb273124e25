// Package apppassword keeps the app-password sessions the AppView holds on
// behalf of its users and hands out PDS clients made from them.
//
// An app-password session is what com.atproto.server.createSession returns
// for a handle or DID and an ATProto app password: an access and a refresh
// token. Login (called by pkg/appview/auth when a user sends an app password
// to /auth/token) creates one on the user's PDS and stores it in the
// database (table pds_sessions), replacing the user's previous one. Client
// then returns an indigo atclient.APIClient authenticated as the user. It
// uses indigo's PasswordAuth, whose own refresh machinery renews the access
// token when the PDS answers ExpiredToken; a refresh callback persists the
// rotated tokens. Client also refreshes ahead of time when the stored access
// token is about to expire. One PasswordAuth exists per DID, so its lock
// serialises refreshes: concurrent requests cause one refreshSession call.
//
// This package is one of the two sources pkg/appview/actas chooses from
// (the other is the OAuth session of pkg/appview/appoauth); service tokens
// are minted there, through Client. See docs/auth.md for the vocabulary.
//
// Every PDS call goes through the guarded HTTP client (pkg/atproto/safehttp).
package apppassword
