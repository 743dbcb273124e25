// Package gc collects blobs no layer record references: a mark-and-sweep
// over the hold's bucket with a grace window.
//
// Mark reads every io.atcr.hold.layer record (notifyManifest writes one for
// the config blob and each layer of every pushed manifest) into a set of
// referenced digests. Sweep walks the content-addressed blobs
// (S3Service.WalkBlobs); a blob that is not referenced and was last modified
// before now − GracePeriod is an orphan and is deleted. Younger blobs are
// kept whatever their references: they belong to pushes whose manifest has
// not been announced yet. Upload staging objects (uploads/…) are never
// looked at; abandoned upload sessions are the upload code's to expire.
//
// Pushes go on while GC runs, so each orphan is checked again right before
// it is deleted: the object is re-examined (a blob written again during the
// sweep is young again and kept); then, holding Pins.LockBlobs, the
// collector asks Pins whether a push used the blob within the grace period
// (a writer's HEAD or mount, a re-upload of a stored digest) or an open
// upload names it, and brings the reference set up to date if the
// repository committed since the mark (layer records are keyed by TID, so
// only records newer than the newest one seen need reading). The push steps
// that rely on a blob hold the lock's shared side, so no step can find the
// blob present between that last check and the DELETE.
//
// A dry run does all of this and deletes nothing; its report says what a
// real run would have deleted. One Collector runs one collection at a time.
package gc
