package holdoci

import (
	"context"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// pinKeep is how long a pin is kept; garbage collection only asks about
// pins younger than its grace period, which should be far shorter.
const pinKeep = 7 * 24 * time.Hour

// pinBlob records that a push step found or stored the blob now, so the
// garbage collector treats it as young for another grace period. The
// caller holds the blob guard's shared side, so the pin is in place
// before the collector's last look at the blob. A failure is returned:
// answering "present" without the pin could let GC delete the blob.
func (h *Handlers) pinBlob(ctx context.Context, digest string) error {
	return h.sessions.pin(context.WithoutCancel(ctx), digest, h.now())
}

// Pinned reports whether a push step referenced the blob since the given
// time, or an open upload session names it; the garbage collector keeps
// such blobs (gc.Pins). Call it with LockBlobs held.
func (h *Handlers) Pinned(ctx context.Context, digest string, since time.Time) (bool, error) {
	return h.sessions.pinnedSince(ctx, digest, since, h.now())
}

// Collected implements gc.Pins: a blob GC deleted no longer counts as
// pending for anyone.
func (h *Handlers) Collected(ctx context.Context, digest string) error {
	return h.sessions.removePendingDigest(ctx, digest)
}

// forgetPending drops the user's pending entries for blobs now recorded in
// layer records: from here on usage counts them.
func (h *Handlers) forgetPending(ctx context.Context, user syntax.DID, recorded []blobRef) {
	digests := make([]string, len(recorded))
	for i, b := range recorded {
		digests[i] = b.digest.String()
	}
	if err := h.sessions.removePending(context.WithoutCancel(ctx), user, digests); err != nil {
		// Counted twice until it expires: the user's quota is briefly tighter.
		h.log.Warn("forget pending blobs", "user", user, "err", err)
	}
}

// PinStore is the pin table of a stopped hold, for `atcr-hold gc`: the
// pins and upload sessions the hold left in <DataDir>/uploads.sqlite.
// Its LockBlobs excludes nothing but other users of the same PinStore (no
// push runs while the hold is stopped).
type PinStore struct {
	sessions *sessionStore
	guard    blobGuard
	now      func() time.Time
}

// OpenPinStore opens the pin table in dataDir (creating it if needed).
func OpenPinStore(ctx context.Context, dataDir string) (*PinStore, error) {
	s, err := openSessionStore(ctx, dataDir)
	if err != nil {
		return nil, err
	}
	return &PinStore{sessions: s, now: time.Now}, nil
}

// LockBlobs implements gc.Pins.
func (p *PinStore) LockBlobs() (unlock func()) {
	return p.guard.lock()
}

// Pinned implements gc.Pins.
func (p *PinStore) Pinned(ctx context.Context, digest string, since time.Time) (bool, error) {
	return p.sessions.pinnedSince(ctx, digest, since, p.now())
}

// Collected implements gc.Pins.
func (p *PinStore) Collected(ctx context.Context, digest string) error {
	return p.sessions.removePendingDigest(ctx, digest)
}

// Close closes the database.
func (p *PinStore) Close() error { return p.sessions.close() }
