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

// HoldSuccessors resolves a retired hold to the hold that replaces it
// (*index.Store: the indexed captain records' successor, followed to the
// end of the chain, loop-safe). Only pushes ask it: a pull goes to the
// hold its manifest record names, retired or not.
type HoldSuccessors interface {
	ResolveHold(ctx context.Context, hold string) (string, error)
}

// pushHold returns the hold that receives the owner's pushes: the sailor
// profile's defaultHold, else the first legacy io.atcr.hold record, else
// the configured default — or, when that hold is retired, its successor
// (Options.Successors). The answer is cached for Options.HoldTTL
// (ForgetPushHold drops it early).
func (s *Store) pushHold(ctx context.Context, owner registry.Owner) (syntax.DID, error) {
	if did, ok := s.pushHolds.Get(owner.DID); ok {
		return did, nil
	}
	did, err := s.discoverHold(ctx, owner)
	if err != nil {
		return "", err
	}
	did = s.successorOf(ctx, owner.DID, did)
	s.pushHolds.Set(owner.DID, did)
	return did, nil
}

// ForgetPushHold drops the cached push hold of did, so its next push reads
// the sailor profile again: the web UI calls it after it changed the
// profile's defaultHold.
func (s *Store) ForgetPushHold(did syntax.DID) {
	s.pushHolds.Remove(did)
}

// successorOf returns the hold that replaces hold, or hold itself when it
// is not retired. A broken chain (a loop, an unusable DID) or an index
// error keeps hold: the push then goes where the user's records say,
// as it did before successors existed, and the warning says why.
func (s *Store) successorOf(ctx context.Context, owner, hold syntax.DID) syntax.DID {
	if s.opts.Successors == nil {
		return hold
	}
	next, err := s.opts.Successors.ResolveHold(ctx, hold.String())
	if err != nil {
		s.log.WarnContext(ctx, "storage: cannot follow the hold's successor; pushing to the hold itself", "did", owner, "hold", hold, "err", err)
		return hold
	}
	if next == hold.String() {
		return hold
	}
	did, err := syntax.ParseDID(next)
	if err != nil {
		s.log.WarnContext(ctx, "storage: ignoring an unusable hold successor", "did", owner, "hold", hold, "successor", next)
		return hold
	}
	s.log.DebugContext(ctx, "storage: the push hold is retired; pushing to its successor", "did", owner, "hold", hold, "successor", did)
	return did
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
