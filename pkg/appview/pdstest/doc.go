// Package pdstest is the one fake of a user's PDS the AppView's tests run
// against, over real HTTP (httptest):
//
//   - sessions (sessions.go, tokens.go): createSession, refreshSession,
//     deleteSession and getServiceAuth, with a clock the test controls and
//     refresh-token rotation like the reference PDS (a used refresh token is
//     revoked). Tokens are HS256 JWTs carrying the claims the real PDS sets
//     (sub, scope, exp; iss/aud/lxm for service tokens); their signatures
//     mean nothing outside this fake.
//   - records (records.go): getRecord, listRecords, createRecord,
//     putRecord, deleteRecord, uploadBlob and sync.getBlob over an
//     in-memory repository per account. It is strict as the reference PDS
//     is: writes need the account's session, records that fail lexicon
//     validation, bad record keys and references to blobs never uploaded
//     are refused, and record CIDs are real. applyWrites (applywrites.go)
//     writes a batch all or nothing; a create of an existing record or an
//     update of a missing one fails it with a 500, as on the reference PDS.
//     putRecord and deleteRecord honour swapRecord.
//   - faults (server.go): per-method call counters, and methods that drop
//     the connection like an unreachable PDS (SetDown).
//
// The end-to-end suite exercises the real reference PDS.
package pdstest
