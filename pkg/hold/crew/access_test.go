package crew

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
)

// wantStatus checks that err is nil (status 0) or an *xrpc.Error with status.
func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Errorf("%s: %v, want allowed", what, err)
		}
		return
	}
	var xe *xrpc.Error
	if !errors.As(err, &xe) || xe.Status != status {
		t.Errorf("%s: %v, want XRPC status %d", what, err, status)
	}
}

func TestAccessRules(t *testing.T) {
	ctx := context.Background()
	reader := syntax.DID("did:plc:readerreaderreaderreaderr")
	for _, public := range []bool{false, true} {
		p := openPDS(t, "")
		s := newService(t, p, Settings{Owner: ownerDID, Public: public, AllowAllCrew: true}, nil)
		if _, _, err := s.Join(ctx, aliceDID, "", nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Join(ctx, reader, RoleRead, nil); err != nil {
			t.Fatal(err)
		}
		privateOr := func(status int) int {
			if public {
				return 0
			}
			return status
		}
		cases := []struct {
			name   string
			check  func(context.Context, syntax.DID) error
			caller syntax.DID
			status int
		}{
			{"read anonymous", s.CanRead, "", privateOr(http.StatusUnauthorized)},
			{"read stranger", s.CanRead, bobDID, privateOr(http.StatusForbidden)},
			{"read crew reader", s.CanRead, reader, 0},
			{"read crew writer", s.CanRead, aliceDID, 0},
			{"read owner", s.CanRead, ownerDID, 0},
			{"write anonymous", s.CanWrite, "", http.StatusUnauthorized},
			{"write stranger", s.CanWrite, bobDID, http.StatusForbidden},
			{"write crew reader", s.CanWrite, reader, http.StatusForbidden},
			{"write crew writer", s.CanWrite, aliceDID, 0},
			{"write owner", s.CanWrite, ownerDID, 0},
			{"admin anonymous", s.CanAdmin, "", http.StatusUnauthorized},
			{"admin crew writer", s.CanAdmin, aliceDID, http.StatusForbidden},
			{"admin owner", s.CanAdmin, ownerDID, 0},
		}
		for _, tc := range cases {
			wantStatus(t, tc.name, tc.check(ctx, tc.caller), tc.status)
		}
	}
}

// Deleting a crew record (as com.atproto.repo.deleteRecord does) revokes
// access at once, and the member can join again afterwards.
func TestDeletedCrewRecordRevokesAccess(t *testing.T) {
	ctx := context.Background()
	p := openPDS(t, "")
	s := newService(t, p, Settings{Owner: ownerDID, AllowAllCrew: true}, nil)
	m, _, err := s.Join(ctx, aliceDID, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "before delete", s.CanWrite(ctx, aliceDID), 0)
	if err := p.DeleteRecord(ctx, crewCollection, m.URI.RecordKey()); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "after delete", s.CanWrite(ctx, aliceDID), http.StatusForbidden)
	if _, created, err := s.Join(ctx, aliceDID, "", nil); err != nil || !created {
		t.Errorf("rejoin: created=%v err=%v", created, err)
	}
}

func TestJoinRules(t *testing.T) {
	ctx := context.Background()
	closed := newService(t, openPDS(t, ""), Settings{Owner: ownerDID}, nil)
	_, _, err := closed.Join(ctx, aliceDID, "", nil)
	var xe *xrpc.Error
	if !errors.As(err, &xe) || xe.Name != RegistrationDisabled || xe.Status != http.StatusForbidden {
		t.Errorf("join closed hold: %v, want 403 RegistrationDisabled", err)
	}
	wantStatus(t, "anonymous join", func() error { _, _, err := closed.Join(ctx, "", "", nil); return err }(), http.StatusUnauthorized)
	// The owner is crew from the start.
	if m, created, err := closed.Join(ctx, ownerDID, "", nil); err != nil || created || m.Role != RoleOwner {
		t.Errorf("owner join: %+v created=%v err=%v", m, created, err)
	}

	open := newService(t, openPDS(t, ""), Settings{Owner: ownerDID, AllowAllCrew: true}, nil)
	cases := []struct {
		name      string
		caller    syntax.DID
		role      string
		perms     []string
		status    int
		wantRole  string
		wantPerms []string
	}{
		{"defaults", aliceDID, "", nil, 0, RoleMember, []string{PermBlobRead, PermBlobWrite}},
		{"read role", "did:plc:readonlyreadonlyreadonlyr", RoleRead, nil, 0, RoleRead, []string{PermBlobRead}},
		{"self admin perm", bobDID, "", []string{PermCrewAdmin}, http.StatusForbidden, "", nil},
		{"self admin role", bobDID, RoleAdmin, nil, http.StatusForbidden, "", nil},
		{"self owner role", bobDID, RoleOwner, nil, http.StatusForbidden, "", nil},
		{"unknown perm", bobDID, "", []string{"blob:delete"}, http.StatusBadRequest, "", nil},
		{"unknown role", bobDID, "captain", nil, http.StatusBadRequest, "", nil},
	}
	for _, tc := range cases {
		m, created, err := open.Join(ctx, tc.caller, tc.role, tc.perms)
		wantStatus(t, tc.name, err, tc.status)
		if tc.status != 0 {
			continue
		}
		if !created || m.Role != tc.wantRole || !equalSets(m.Permissions, tc.wantPerms) {
			t.Errorf("%s: %+v created=%v, want role %s perms %v", tc.name, m, created, tc.wantRole, tc.wantPerms)
		}
	}
	again, created, err := open.Join(ctx, aliceDID, RoleRead, nil)
	if err != nil || created || again.Role != RoleMember || again.URI == "" || again.CID == "" {
		t.Errorf("second join: %+v created=%v err=%v, want the existing member record", again, created, err)
	}
}

// Concurrent join requests of one DID create exactly one record.
func TestConcurrentJoinsCreateOneRecord(t *testing.T) {
	ctx := context.Background()
	p := openPDS(t, "")
	s := newService(t, p, Settings{Owner: ownerDID, AllowAllCrew: true}, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, c, err := s.Join(ctx, aliceDID, "", nil)
			if err != nil {
				t.Error(err)
			}
			if c {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created != 1 || crewCount(t, p) != 2 { // owner + alice
		t.Errorf("created %d times, %d crew records; want 1 and 2", created, crewCount(t, p))
	}
}

// A crew record that exists at the member's key but was not indexed (written
// behind the service's back, e.g. by an import) is found by Join instead of
// duplicated.
func TestJoinFindsUnindexedRecord(t *testing.T) {
	ctx := context.Background()
	p := openPDS(t, "")
	s := newService(t, p, Settings{Owner: ownerDID, AllowAllCrew: true}, nil)
	rec := memberRecord(Member{DID: aliceDID, Role: RoleRead, Permissions: []string{PermBlobRead}, AddedAt: "2026-01-02T03:04:05.000Z"})
	if _, _, err := p.CreateRecord(ctx, crewCollection, crewKey(aliceDID), rec); err != nil {
		t.Fatal(err)
	}
	m, created, err := s.Join(ctx, aliceDID, "", nil)
	if err != nil || created || m.Role != RoleRead {
		t.Errorf("join: %+v created=%v err=%v, want the imported read-only record", m, created, err)
	}
	if n := crewCount(t, p); n != 2 {
		t.Errorf("%d crew records, want 2", n)
	}
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range b {
		found := false
		for _, y := range a {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}
