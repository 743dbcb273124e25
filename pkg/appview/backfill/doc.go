// Package backfill reads accounts' repositories from their PDSes and puts
// their indexed records into the UI index (pkg/appview/index): the repair
// path next to Jetstream, which carries no proofs.
//
// For each account it resolves the identity (handle or DID) through the
// shared directory, fetches com.atproto.sync.getRepo from the PDS the DID
// document names, with the guarded HTTP client, and verifies the CAR before
// anything is indexed: every block's hash against its CID, the commit's
// DID, the commit's signature against the key of the DID document it
// resolved, and the MST's structure. Then, with index.DeleteDID first (so
// records deleted meanwhile disappear), it applies every record of the
// indexed collections (index.Collections) in batches and sets the handle.
// Holds (did:web) are read the same way: their captain and crew records
// are in Collections.
//
// Scheduler (scheduler.go) runs backfills in the background for the
// accounts the Jetstream sink meets for the first time (it is the sink's
// index.DIDWatcher): Notice never blocks, a DID is queued or running at
// most once, the queue and the workers are bounded, and a DID that failed
// (or found the queue full) is scheduled again at its next event once its
// backoff has passed.
package backfill
