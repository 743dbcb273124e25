package storage

import (
	"context"
	"errors"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
)

// A hold that let a blob lookup run into its timeout is asked last for a
// while (holdclient.ErrNoAnswer): without this memory every HEAD and GET of
// a repository whose manifests name a hanging hold waits the full call
// timeout before the next hold is tried, even for blobs another of the
// owner's holds has. It is put off, never skipped: when no other hold has
// the blob it is still asked, so a hold that is back serves at once. The
// pause starts at holdDownFirst and doubles with each further timeout up
// to holdDownMax; any answer from the hold ends it.
const (
	holdDownFirst = 15 * time.Second
	holdDownMax   = 5 * time.Minute
	// holdDownMemory is how long the count of timeouts is kept, so a hold
	// that hangs again soon after its pause pauses longer.
	holdDownMemory = 2 * holdDownMax
)

// holdDown is what is remembered of a hold that did not answer.
type holdDown struct {
	until    time.Time
	timeouts int
}

// holdPaused reports whether did is within its pause.
func (s *Store) holdPaused(did syntax.DID) bool {
	d, ok := s.downHolds.Get(did)
	return ok && s.now().Before(d.until)
}

// noteHoldAnswer records how a call to did went: a timeout starts or
// lengthens its pause; an answer (the blob, "unknown", "refused") ends
// it; other failures leave it as it is.
func (s *Store) noteHoldAnswer(ctx context.Context, did syntax.DID, err error) {
	switch {
	case err == nil, errors.Is(err, registry.ErrBlobUnknown), errors.Is(err, registry.ErrHoldRefused):
		if _, ok := s.downHolds.Get(did); ok {
			s.downHolds.Remove(did)
		}
		return
	case !errors.Is(err, holdclient.ErrNoAnswer):
		return
	}
	d, _ := s.downHolds.Get(did)
	d.timeouts++
	pause := min(holdDownFirst<<min(d.timeouts-1, 8), holdDownMax)
	d.until = s.now().Add(pause)
	s.downHolds.Set(did, d)
	s.log.WarnContext(ctx, "hold did not answer; blob lookups ask it last for a while",
		"hold", did, "pause", pause, "timeouts", d.timeouts, "err", err)
}
