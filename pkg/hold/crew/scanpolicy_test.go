package crew

import (
	"context"
	"testing"
)

func TestScanOnPushFollowsTheTier(t *testing.T) {
	ctx := context.Background()
	p := openPDS(t, "")
	tiers := mustTiers(t, `
tiers:
  deckhand: {quota: 1KB, scan_on_push: false}
  bosun: {quota: 5KB, scan_on_push: true}
  mate: {quota: 5KB}
defaults:
  new_crew_tier: deckhand
`)
	s := newService(t, p, Settings{Owner: ownerDID, AllowAllCrew: true}, tiers)
	if _, _, err := s.Join(ctx, aliceDID, "", nil); err != nil {
		t.Fatal(err)
	}
	setTier := func(tier string) {
		t.Helper()
		m, _, _ := s.Member(ctx, aliceDID)
		m.Tier = tier
		if _, _, err := p.PutRecord(ctx, crewCollection, m.URI.RecordKey(), memberRecord(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		tier       string
		dflt, want bool
	}{
		{"", true, false},        // the default tier says no
		{"bosun", false, true},   // the tier says yes over the config default
		{"mate", true, true},     // the tier does not say: the config default
		{"mate", false, false},   // ... either way
		{"admiral", true, false}, // undefined tier: the default tier's no
	} {
		setTier(c.tier)
		if got, err := s.ScanOnPush(ctx, aliceDID, c.dflt); err != nil || got != c.want {
			t.Errorf("tier %q, default %v: ScanOnPush = %v, %v; want %v", c.tier, c.dflt, got, err, c.want)
		}
	}
	// The owner has no tier: the config default.
	for _, dflt := range []bool{true, false} {
		if got, _ := s.ScanOnPush(ctx, ownerDID, dflt); got != dflt {
			t.Errorf("owner with default %v: %v", dflt, got)
		}
	}
	// No quotas file: the config default.
	s2 := newService(t, openPDS(t, ""), Settings{Owner: ownerDID}, nil)
	if got, _ := s2.ScanOnPush(ctx, aliceDID, false); got {
		t.Error("no tiers, default false: scanned")
	}
}
