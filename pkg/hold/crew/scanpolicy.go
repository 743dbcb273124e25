package crew

import (
	"context"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ScanOnPush reports whether the user's pushes are scanned: the
// scan_on_push of the tier their quota comes from (Limit's choice: the
// tier their crew record names, else the default tier), or dflt
// (scanner.scan_on_push) when that tier does not say or no tier applies
// (no quotas file, the owner).
func (s *Service) ScanOnPush(ctx context.Context, user syntax.DID, dflt bool) (bool, error) {
	_, name, err := s.Limit(ctx, user)
	if err != nil || name == "" {
		return dflt, err
	}
	tier, ok := s.tiers.Lookup(name)
	if !ok || tier.ScanOnPush == nil {
		return dflt, nil
	}
	return *tier.ScanOnPush, nil
}
