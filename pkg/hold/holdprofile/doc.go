// Package holdprofile writes the hold's own app.bsky.actor.profile record
// (key "self") into its embedded PDS from configuration: display name,
// description and an avatar read from a file and stored as a PDS blob
// (pkg/hold/pds UploadBlob, which streams it to the hold's S3 through
// *s3.S3Service). Bluesky clients and the AppView show it for the hold's
// DID.
//
// The record is rewritten only when the configuration changes: Sync
// computes the record the settings describe, avatar CID included, without
// uploading anything, and compares its CID with the stored record's. An
// unchanged configuration costs one file read and no commit, no upload.
// Settings with nothing set leave an existing record alone.
package holdprofile
