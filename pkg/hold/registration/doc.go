// Package registration registers a hold with its owner: the operator
// guide's step 6 (docs/hold-registration.md).
//
// A hold whose configuration names an owner (registration.owner_did,
// HOLD_OWNER) and that has not registered yet acts as an ATProto OAuth
// client of the owner's PDS, on indigo's atproto/auth/oauth. It is a
// confidential client: its client_id is <public_url>/oauth-client-metadata.json,
// its keys are served at <public_url>/oauth/jwks.json and signed by a P-256
// key kept in <data_dir>/registration/client-key.mb (the PDS caches a
// client's keys, so the key survives restarts), and its redirect URI is
// <public_url>/oauth/callback. Registrar.Routes lists those three
// endpoints for the hold's router.
//
// While registration is pending, Registrar.Run sends a pushed authorization
// request for the owner and logs at INFO
//
//	Visit this URL to authorize: <authorization URL>
//
// at start and again every Options.RemindEvery (a PDS keeps a pushed
// request for a few minutes only, so each reminder carries a fresh URL).
// When the owner approves, the callback writes two records into the
// owner's repo with com.atproto.repo.putRecord, both keyed by the hold's
// host so a second registration overwrites them instead of adding more:
// io.atcr.hold (the hold's DID and endpoint: how the AppView's hold
// discovery finds the hold for the owner) and io.atcr.hold.crew (the
// owner's membership, naming that io.atcr.hold record). It logs a
// "created" line per record and one "registered" line, revokes the OAuth
// session (the hold needs no lasting access to the owner's account) and
// writes <data_dir>/registration/state.json, so a restart does not ask
// again. A changed owner, hold DID or public URL asks again.
//
// The scopes requested are the two record collections and nothing else
// (Scopes).
package registration
