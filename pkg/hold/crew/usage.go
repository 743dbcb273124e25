package crew

import (
	"context"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// UsageSource reports a user's storage: the sum of the sizes of the
// distinct digests among their io.atcr.hold.layer records.
// *layerindex.Index implements it from the repository's layer index, one
// row read per call, kept current by every commit.
type UsageSource interface {
	Usage(ctx context.Context, user syntax.DID) (int64, error)
}

// Usage returns the bytes the user's layer records account for.
func (s *Service) Usage(ctx context.Context, user syntax.DID) (int64, error) {
	return s.usage.Usage(ctx, user)
}
