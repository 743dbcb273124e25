// Package layerindex is the hold's secondary index of its
// io.atcr.hold.layer records: one row per record (digest, size, user,
// manifest) plus, per user, the distinct digests they have records for and
// the sum of their sizes (quota usage). It lives in the repository's SQLite
// database as a pds.Index, so every commit updates it in the commit's own
// transaction and it is rebuilt from the records whenever it is missing or
// behind the head.
//
// It turns the hold's per-request work from a scan of the whole layer
// collection into lookups proportional to the manifest at hand:
// notifyManifest asks which of a manifest's digests are already recorded
// and which the user already owns, notifyManifestDeleted lists one
// manifest's record keys, the quota check reads one usage row, and garbage
// collection asks whether one digest is referenced.
package layerindex
