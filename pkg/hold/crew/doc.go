// Package crew is the hold's access model: the captain record (owner and
// policy, written from configuration at start), the crew records (members with
// a role, permissions and a quota tier), the access decisions built on them,
// and storage quotas.
//
// A Service implements the interfaces pkg/hold/holdoci consumes (Authorizer:
// CanRead, CanWrite; Quota: CheckQuota; Captain: BlueskyPostsEnabled) plus
// CanAdmin for the PDS's write routes. The rules:
//
//   - read: anyone on a public hold; otherwise the owner or crew with
//     blob:read (blob:write implies it: a pusher reads its own layers);
//   - write: the owner or crew with blob:write;
//   - admin (com.atproto.repo.uploadBlob/deleteRecord): the owner or crew
//     with crew:admin.
//
// Anonymous callers that need a credential get 401 AuthRequired, known
// callers without the permission 403 Forbidden (both *xrpc.Error).
//
// Crew records are indexed in memory by member DID (rebuilt from the
// repository at start, updated by this package's writes). Every lookup
// re-reads the member's record, so a record deleted through
// com.atproto.repo.deleteRecord takes effect at once. New members get the
// record key crewKey(did), a hash of the DID, so concurrent or repeated joins
// can never create two records for one member.
//
// Usage for quotas is the sum of the sizes of the distinct digests in a
// user's io.atcr.hold.layer records. It is read from the hold's layer index
// (pkg/hold/layerindex, Options.Usage), which every commit updates in its
// own transaction, so a layer record written by notifyManifest or removed
// by deleteRecord counts at the next check, at the cost of one row read.
//
// Handlers serves io.atcr.hold.requestCrew, io.atcr.hold.listTiers and
// io.atcr.hold.getQuota; Handlers.Routes lists them for the hold's router,
// listTiers public and the other two behind service auth.
package crew
