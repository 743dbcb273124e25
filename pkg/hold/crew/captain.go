package crew

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/pds"
)

// Record collections and the captain's fixed key.
const (
	captainCollection = syntax.NSID(atcr.HoldCaptainNSID)
	crewCollection    = syntax.NSID(atcr.HoldCrewNSID)
	layerCollection   = syntax.NSID(atcr.HoldLayerNSID)
	captainKey        = syntax.RecordKey("self")
)

// writeCaptain puts the captain record built from the settings. deployedAt
// is kept from the existing record, so it says when the hold first started;
// an identical record produces no commit.
func (s *Service) writeCaptain(ctx context.Context) error {
	deployedAt := s.timestamp()
	if cur, err := s.Captain(ctx); err == nil {
		if _, perr := syntax.ParseDatetime(cur.DeployedAt); perr == nil {
			deployedAt = cur.DeployedAt
		}
	} else if !errors.Is(err, pds.ErrRecordNotFound) {
		return err
	}
	st := s.settings
	rec, err := atcr.ToMap(atcr.HoldCaptain{
		Owner:              st.Owner.String(),
		Public:             st.Public,
		AllowAllCrew:       st.AllowAllCrew,
		EnableBlueskyPosts: st.EnableBlueskyPosts,
		DeployedAt:         deployedAt,
		Region:             st.Region,
		Provider:           st.Provider,
		Successor:          st.Successor.String(),
	})
	if err != nil {
		return fmt.Errorf("build captain record: %w", err)
	}
	res, err := s.pds.ApplyWrites(ctx, []pds.Write{{Op: pds.Update, Collection: captainCollection, RKey: captainKey, Record: rec}})
	if err != nil {
		return fmt.Errorf("write captain record: %w", err)
	}
	if res.Results[0].Noop {
		s.log.Debug("Captain record unchanged", "owner", st.Owner)
		return nil
	}
	s.log.Info("Captain record written", "owner", st.Owner, "public", st.Public,
		"allow_all_crew", st.AllowAllCrew, "deployed_at", deployedAt, "rev", res.Rev)
	return nil
}

// Captain returns the stored captain record, or an error wrapping
// pds.ErrRecordNotFound when there is none (no owner configured).
func (s *Service) Captain(ctx context.Context) (atcr.HoldCaptain, error) {
	val, _, err := s.pds.GetRecord(ctx, captainCollection, captainKey)
	if err != nil {
		return atcr.HoldCaptain{}, fmt.Errorf("read captain record: %w", err)
	}
	var c atcr.HoldCaptain
	if err := atcr.FromMap(val, &c); err != nil {
		return atcr.HoldCaptain{}, fmt.Errorf("decode captain record: %w", err)
	}
	return c, nil
}
