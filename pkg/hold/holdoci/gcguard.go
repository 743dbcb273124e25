package holdoci

import (
	"sync"
	"sync/atomic"
)

// blobGuard orders the steps that make a stored blob needed against the
// garbage collector's deletions. The steps that find a blob present and
// rely on it — notifyManifest (stat, then write layer records), the
// completion of an upload of a digest already stored, and a push's HEAD
// (getBlob by a writer) — hold the shared side; the collector holds the
// exclusive side around its last check and DELETE of each blob (LockBlobs).
// So a blob is either deleted before such a step looks at it (and the step
// sees it missing) or the step's mark — a layer record, or a reference
// time in the pin table — exists before the collector's last check.
type blobGuard struct {
	mu sync.RWMutex
	// exclusions counts the times the exclusive side was taken: a step
	// that saw the blobs under one hold of the shared side and finds the
	// count unchanged under the next knows nothing was deleted between
	// (notifyManifest's stats taken while the record is read).
	exclusions atomic.Uint64
}

// share takes the shared side and returns its release.
func (g *blobGuard) share() (release func()) {
	g.mu.RLock()
	return g.mu.RUnlock
}

// lock takes the exclusive side and returns its release.
func (g *blobGuard) lock() (unlock func()) {
	g.mu.Lock()
	g.exclusions.Add(1)
	return g.mu.Unlock
}

// LockBlobs takes the exclusive side of the blob guard: while it is held,
// no notification, completion or push HEAD can find a blob present. The
// garbage collector holds it around its final check and delete of each
// blob (gc.Pins).
func (h *Handlers) LockBlobs() (unlock func()) {
	return h.guard.lock()
}
