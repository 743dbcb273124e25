package crew

import (
	"context"
	"fmt"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
)

// Unlimited is the limit CheckQuota and Limit report when a user has no quota.
const Unlimited int64 = -1

// QuotaExceeded is the XRPC error name notifyManifest answers with when a
// push would take a user over their quota.
const QuotaExceeded = "QuotaExceeded"

// Limit returns the user's quota in bytes (Unlimited when none applies) and
// the tier it comes from. The owner is unlimited; crew use the tier named in
// their record or the default tier; anyone else the default tier. A record
// naming a tier the quotas file no longer defines falls back to the default.
func (s *Service) Limit(ctx context.Context, user syntax.DID) (int64, string, error) {
	if s.tiers == nil || s.IsOwner(user) {
		return Unlimited, "", nil
	}
	name := s.tiers.Default
	m, ok, err := s.Member(ctx, user)
	if err != nil {
		return 0, "", err
	}
	if ok && m.Tier != "" {
		if _, known := s.tiers.Lookup(m.Tier); known {
			name = m.Tier
		} else {
			s.log.Warn("Crew record names an undefined tier; using the default", "member", user, "tier", m.Tier, "default", name)
		}
	}
	tier, known := s.tiers.Lookup(name)
	if !known {
		return Unlimited, "", nil // no default tier: members without one are unlimited
	}
	return tier.QuotaBytes, tier.Name, nil
}

// CheckQuota implements holdoci's Quota: it returns the user's usage after
// adding addBytes (the size of blobs the user has no layer records for yet)
// and their limit (Unlimited < 0), or a 400 QuotaExceeded *xrpc.Error when
// the addition would exceed the limit. Two pushes checked at the same moment
// may both pass; the quota is a soft limit at that granularity.
func (s *Service) CheckQuota(ctx context.Context, user syntax.DID, addBytes int64) (used, limit int64, err error) {
	if addBytes < 0 {
		addBytes = 0
	}
	limit, tier, err := s.Limit(ctx, user)
	if err != nil {
		return 0, 0, err
	}
	current, err := s.Usage(ctx, user)
	if err != nil {
		return 0, 0, err
	}
	used = current + addBytes
	if limit >= 0 && used > limit {
		return used, limit, xrpc.NewError(http.StatusBadRequest, QuotaExceeded,
			fmt.Sprintf("storage quota exceeded: this push needs %s more, %s of %s (tier %s) already used",
				FormatBytes(addBytes), FormatBytes(current), FormatBytes(limit), tier))
	}
	return used, limit, nil
}
