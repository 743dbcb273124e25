package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
)

// errNoHold: neither the user's records nor the configuration name a hold.
var errNoHold = errors.New("no hold configured for this account and no default hold")

// pushHold returns the hold that receives the owner's pushes: the sailor
// profile's defaultHold, else the first legacy io.atcr.hold record, else
// the configured default. The answer is cached for Options.HoldTTL.
func (s *Store) pushHold(ctx context.Context, owner registry.Owner) (syntax.DID, error) {
	if did, ok := s.pushHolds.Get(owner.DID); ok {
		return did, nil
	}
	did, err := s.discoverHold(ctx, owner)
	if err != nil {
		return "", err
	}
	s.pushHolds.Set(owner.DID, did)
	return did, nil
}

func (s *Store) discoverHold(ctx context.Context, owner registry.Owner) (syntax.DID, error) {
	profile, err := s.getRecord(ctx, owner, atcr.SailorProfileNSID, "self")
	switch {
	case err == nil:
		var p atcr.SailorProfile
		if json.Unmarshal(profile.Value, &p) == nil && p.DefaultHold != "" {
			if did, err := pdsread.ParseHold(p.DefaultHold); err == nil {
				return did, nil
			}
			s.log.WarnContext(ctx, "storage: ignoring unusable defaultHold", "did", owner.DID, "defaultHold", p.DefaultHold)
		}
	case !errors.Is(err, pdsread.ErrRecordNotFound):
		return "", fmt.Errorf("hold discovery for %s: %w", owner.DID, err)
	}
	var legacy syntax.DID
	err = s.listRecords(ctx, owner, atcr.HoldNSID, 10, func(view pdsread.Record) bool {
		var h atcr.Hold
		if json.Unmarshal(view.Value, &h) != nil {
			return true
		}
		for _, v := range []string{h.HoldDID, h.Endpoint} {
			if did, err := pdsread.ParseHold(v); err == nil {
				legacy = did
				return false
			}
		}
		return true
	})
	if err != nil {
		return "", fmt.Errorf("hold discovery for %s: %w", owner.DID, err)
	}
	if legacy != "" {
		return legacy, nil
	}
	if s.opts.DefaultHold != "" {
		return s.opts.DefaultHold, nil
	}
	return "", fmt.Errorf("hold discovery for %s: %w: %w", owner.DID, registry.ErrUnavailable, errNoHold)
}
