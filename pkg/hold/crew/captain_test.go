package crew

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"atcr.io/pkg/hold/pds"
)

func TestBootstrapWritesCaptainAndOwnerCrew(t *testing.T) {
	p := openPDS(t, "")
	st := Settings{Owner: ownerDID, Public: true, AllowAllCrew: true, EnableBlueskyPosts: true,
		Region: "eu-central", Provider: "upcloud", Successor: "did:web:next.example.com"}
	s := newService(t, p, st, nil)

	c, err := s.Captain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Owner != ownerDID.String() || !c.Public || !c.AllowAllCrew || !c.EnableBlueskyPosts ||
		c.Region != "eu-central" || c.Provider != "upcloud" || c.Successor != "did:web:next.example.com" {
		t.Errorf("captain = %+v", c)
	}
	if _, err := time.Parse(time.RFC3339, c.DeployedAt); err != nil {
		t.Errorf("deployedAt %q: %v", c.DeployedAt, err)
	}
	m, ok, err := s.Member(context.Background(), ownerDID)
	if err != nil || !ok {
		t.Fatalf("owner crew: ok=%v err=%v", ok, err)
	}
	if m.Role != RoleOwner || !m.Has(PermBlobRead) || !m.Has(PermBlobWrite) || !m.Has(PermCrewAdmin) {
		t.Errorf("owner crew = %+v", m)
	}
	if !s.BlueskyPostsEnabled(context.Background()) {
		t.Error("BlueskyPostsEnabled = false")
	}
}

// A restart with the same settings commits nothing and adds no records; a
// changed setting updates the captain and keeps deployedAt.
func TestBootstrapIsIdempotentAndFollowsConfig(t *testing.T) {
	dir := t.TempDir()
	p := openPDS(t, dir)
	st := Settings{Owner: ownerDID}
	first := newService(t, p, st, nil)
	c1, err := first.Captain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	commit, rev := p.Head()
	p.Close()

	p = openPDS(t, dir)
	newService(t, p, st, nil)
	if c, r := p.Head(); c != commit || r != rev {
		t.Errorf("restart with the same config committed: %s/%s -> %s/%s", commit, rev, c, r)
	}
	if n := crewCount(t, p); n != 1 {
		t.Errorf("%d crew records after restart, want 1", n)
	}

	st.Public = true
	s := newService(t, p, st, nil)
	c2, err := s.Captain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !c2.Public || c2.DeployedAt != c1.DeployedAt {
		t.Errorf("after config change: public=%v deployedAt %q, want true and %q", c2.Public, c2.DeployedAt, c1.DeployedAt)
	}
	if _, r := p.Head(); r == rev {
		t.Error("config change produced no commit")
	}
}

func TestBootstrapWithoutOwnerWritesNoCaptain(t *testing.T) {
	p := openPDS(t, "")
	s := newService(t, p, Settings{Public: true}, nil)
	if _, err := s.Captain(context.Background()); !errors.Is(err, pds.ErrRecordNotFound) {
		t.Errorf("Captain() err = %v, want ErrRecordNotFound", err)
	}
	if n := crewCount(t, p); n != 0 {
		t.Errorf("%d crew records, want 0", n)
	}
}

// When the configured owner changes, the previous owner loses role owner
// and crew:admin but stays crew.
func TestOwnerChangeDemotesFormerOwner(t *testing.T) {
	p := openPDS(t, "")
	newService(t, p, Settings{Owner: ownerDID}, nil)
	s := newService(t, p, Settings{Owner: aliceDID}, nil)

	old, ok, err := s.Member(context.Background(), ownerDID)
	if err != nil || !ok {
		t.Fatalf("former owner: ok=%v err=%v", ok, err)
	}
	if old.Role != RoleMember || old.Has(PermCrewAdmin) || !old.Has(PermBlobWrite) {
		t.Errorf("former owner = %+v, want member without crew:admin", old)
	}
	if err := s.CanAdmin(context.Background(), ownerDID); err == nil {
		t.Error("former owner can still administer the hold")
	}
	cur, ok, _ := s.Member(context.Background(), aliceDID)
	if !ok || cur.Role != RoleOwner || !slices.Contains(cur.Permissions, PermCrewAdmin) {
		t.Errorf("new owner = %+v ok=%v", cur, ok)
	}
}

// An owner crew record that lost permissions (e.g. edited by an import) is
// restored at start, keeping addedAt.
func TestBootstrapRestoresOwnerPermissions(t *testing.T) {
	p := openPDS(t, "")
	s := newService(t, p, Settings{Owner: ownerDID}, nil)
	m, _, _ := s.Member(context.Background(), ownerDID)
	m.Permissions = []string{PermBlobRead}
	if _, _, err := p.PutRecord(context.Background(), crewCollection, m.URI.RecordKey(), memberRecord(m)); err != nil {
		t.Fatal(err)
	}
	s = newService(t, p, Settings{Owner: ownerDID}, nil)
	got, _, _ := s.Member(context.Background(), ownerDID)
	if !got.Has(PermCrewAdmin) || !got.Has(PermBlobWrite) || got.AddedAt != m.AddedAt {
		t.Errorf("owner after restart = %+v, want every permission and addedAt %s", got, m.AddedAt)
	}
}
