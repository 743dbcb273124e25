// Package schema validates ATCR's records, XRPC bodies and subscription
// messages (ValidateObject) against the io.atcr.* lexicons embedded from
// lexicons/, using indigo's atproto/lexicon validator, before anything is
// written to a PDS or sent over the wire.
//
// Only the io.atcr.* namespace is checked. Other collections the hold or
// AppView write (app.bsky.feed.post, app.bsky.actor.profile) pass without
// validation because ATCR does not ship their lexicons; the PDS that stores
// them validates them itself.
//
// Validation is strict: datetimes must carry a timezone, legacy blobs are
// refused, every ref must resolve. knownValues stay open, as the Lexicon
// specification requires: an unlisted media type or role is accepted.
package schema
