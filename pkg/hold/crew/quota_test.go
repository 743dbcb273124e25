package crew

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
)

const quotasYAML = `
tiers:
  deckhand: {quota: 1000B}
  bosun: {quota: 5KB}
defaults:
  new_crew_tier: deckhand
`

func TestUsageCountsDistinctDigestsPerUser(t *testing.T) {
	ctx := context.Background()
	p := openPDS(t, "")
	s := newService(t, p, Settings{Owner: ownerDID}, nil)
	addLayer(t, p, aliceDID, digestN(1), 100)
	addLayer(t, p, aliceDID, digestN(2), 200)
	addLayer(t, p, aliceDID, digestN(1), 100) // same layer in a second manifest
	addLayer(t, p, bobDID, digestN(1), 100)   // bob pays for his own copy

	for user, want := range map[syntax.DID]int64{aliceDID: 300, bobDID: 100, ownerDID: 0} {
		if got, err := s.Usage(ctx, user); err != nil || got != want {
			t.Errorf("Usage(%s) = %d, %v; want %d", user, got, err, want)
		}
	}
	// A new layer record is counted at once (the index follows commits) ...
	rkey := addLayer(t, p, aliceDID, digestN(3), 50)
	if got, _ := s.Usage(ctx, aliceDID); got != 350 {
		t.Errorf("after new layer: %d, want 350", got)
	}
	// ... and a deleted one (manifest deleted) frees its bytes.
	if err := p.DeleteRecord(ctx, layerCollection, rkey); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Usage(ctx, aliceDID); got != 300 {
		t.Errorf("after delete: %d, want 300", got)
	}
}

func TestCheckQuota(t *testing.T) {
	ctx := context.Background()
	p := openPDS(t, "")
	s := newService(t, p, Settings{Owner: ownerDID, AllowAllCrew: true}, mustTiers(t, quotasYAML))
	if _, _, err := s.Join(ctx, aliceDID, "", nil); err != nil {
		t.Fatal(err)
	}
	addLayer(t, p, aliceDID, digestN(1), 600)

	used, limit, err := s.CheckQuota(ctx, aliceDID, 400)
	if err != nil || used != 1000 || limit != 1000 {
		t.Errorf("at the limit: used %d limit %d err %v; want 1000 1000 nil", used, limit, err)
	}
	used, limit, err = s.CheckQuota(ctx, aliceDID, 401)
	var xe *xrpc.Error
	if !errors.As(err, &xe) || xe.Name != QuotaExceeded || xe.Status != http.StatusBadRequest || used != 1001 || limit != 1000 {
		t.Errorf("over the limit: used %d limit %d err %v; want 400 QuotaExceeded", used, limit, err)
	}

	// The owner is never limited.
	addLayer(t, p, ownerDID, digestN(2), 10_000)
	if used, limit, err := s.CheckQuota(ctx, ownerDID, 1<<40); err != nil || limit != Unlimited || used != 10_000+1<<40 {
		t.Errorf("owner: used %d limit %d err %v", used, limit, err)
	}

	// A tier in the crew record wins over the default; an undefined one
	// falls back to the default.
	m, _, _ := s.Member(ctx, aliceDID)
	m.Tier = "bosun"
	if _, _, err := p.PutRecord(ctx, crewCollection, m.URI.RecordKey(), memberRecord(m)); err != nil {
		t.Fatal(err)
	}
	if limit, tier, _ := s.Limit(ctx, aliceDID); limit != 5000 || tier != "bosun" {
		t.Errorf("bosun member: limit %d tier %q", limit, tier)
	}
	m.Tier = "admiral"
	if _, _, err := p.PutRecord(ctx, crewCollection, m.URI.RecordKey(), memberRecord(m)); err != nil {
		t.Fatal(err)
	}
	if limit, tier, _ := s.Limit(ctx, aliceDID); limit != 1000 || tier != "deckhand" {
		t.Errorf("undefined tier: limit %d tier %q, want the default", limit, tier)
	}
}

func TestNoQuotasMeansUnlimited(t *testing.T) {
	ctx := context.Background()
	p := openPDS(t, "")
	s := newService(t, p, Settings{Owner: ownerDID}, nil)
	addLayer(t, p, aliceDID, digestN(1), 600)
	used, limit, err := s.CheckQuota(ctx, aliceDID, 1<<50)
	if err != nil || limit != Unlimited || used != 600+1<<50 {
		t.Errorf("used %d limit %d err %v", used, limit, err)
	}
	// Tiers without a default leave members without a tier unlimited.
	s = newService(t, p, Settings{Owner: ownerDID}, mustTiers(t, "tiers: {small: {quota: 1KB}}"))
	if limit, _, _ := s.Limit(ctx, aliceDID); limit != Unlimited {
		t.Errorf("no default tier: limit %d, want unlimited", limit)
	}
}
