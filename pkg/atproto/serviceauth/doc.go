// Package serviceauth verifies (and, for tests and tools, mints) the
// service-auth JWTs that accompany protected XRPC calls: a token minted by the
// caller's PDS (com.atproto.server.getServiceAuth), signed with the caller's
// #atproto key, naming this service in aud and the called method in lxm.
//
// The signing key always comes from the issuer's DID document, resolved
// through the identity directory, never from the token (a jwk or kid header
// is ignored). Only ES256 and ES256K are accepted, exp is required and may not
// lie further ahead than MaxLifetime, aud must be this service's DID (or
// DID#ServiceID), and lxm must equal the method being called. Cheap claim
// checks run before any DID resolution, so junk tokens cost no lookups.
// A signature that verified is remembered (by key, signed bytes and
// signature; verified.go), so a client calling many times with one token
// pays the ECDSA check once; the claims are still checked on every call.
//
// Middleware wraps handlers: it answers failures with a 401 XRPC error
// (AuthRequired, BadJwt, JwtExpired, BadJwtAudience, BadJwtLexiconMethod,
// BadJwtIssuer, BadJwtSignature) and hands the verified caller DID to the
// handler through the request context (CallerDID).
package serviceauth
