// Package atcr holds the Go types of ATCR's io.atcr.* lexicons: the records
// kept in users' PDSes (Manifest, Tag, SailorProfile, SailorStar, RepoPage,
// legacy Hold) and in a hold's embedded PDS (HoldCaptain, HoldCrew,
// HoldLayer, HoldScan), and the _Input, _Output and _Params types of the
// hold's XRPC methods (HoldInitiateUpload_Input, …), and the _Params and
// message types of its subscription io.atcr.hold.subscribeScanJobs
// (HoldSubscribeScanJobs_ScanJob, …; the wire framing is in
// pkg/hold/scan/remote).
//
// Every type except those in convert.go is generated from lexicons/ by
// internal/lexgen; edit the JSON and regenerate with
//
//	go generate ./pkg/atproto/atcr
//
// TestGeneratedUpToDate fails when the checked-in code and the lexicons
// disagree.
//
// The types are JSON-only. Records are written by converting them to a
// JSON-shaped map with ToMap (blobs become atdata.Blob, integers int64, and
// $type is filled in), which atdata.MarshalCBOR encodes and
// schema.ValidateRecord checks; FromMap is the way back.
package atcr

//go:generate go run atcr.io/internal/lexgen -out .
