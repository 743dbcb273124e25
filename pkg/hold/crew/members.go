package crew

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/hold/pds"
)

// Permissions a crew record can grant.
const (
	PermBlobRead  = "blob:read"
	PermBlobWrite = "blob:write"
	PermCrewAdmin = "crew:admin"
)

// Roles a crew record can carry. Permissions, not roles, decide access; the
// role picks the default permissions of a join request and is shown to people.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleWrite  = "write"
	RoleRead   = "read"
)

// Member is one crew member as stored in its io.atcr.hold.crew record.
type Member struct {
	DID         syntax.DID
	Role        string
	Permissions []string
	// Tier is the quota tier named in the record; empty means the default.
	Tier    string
	AddedAt string
	URI     syntax.ATURI
	CID     string
}

// Has reports whether the member holds perm.
func (m Member) Has(perm string) bool { return slices.Contains(m.Permissions, perm) }

// crewKey is the record key of a new member's crew record: the first 128
// bits of SHA-256 over the DID, in hex. One key per DID makes a duplicate
// record for a member impossible, whatever the timing of requests.
func crewKey(did syntax.DID) syntax.RecordKey {
	sum := sha256.Sum256([]byte(did))
	return syntax.RecordKey(hex.EncodeToString(sum[:16]))
}

// loadIndex builds the member index from the crew collection. It returns the
// members whose record still says role owner, for bootstrap to reconcile.
func (s *Service) loadIndex(ctx context.Context) ([]syntax.DID, error) {
	var owners []syntax.DID
	cursor := ""
	for {
		recs, next, err := s.pds.ListRecords(ctx, crewCollection, 100, cursor, true)
		if err != nil {
			return nil, fmt.Errorf("list crew records: %w", err)
		}
		for _, rec := range recs {
			m, err := decodeMember(rec.Value)
			if err != nil {
				s.log.Warn("Ignoring malformed crew record", "uri", rec.URI, "err", err)
				continue
			}
			if prev, dup := s.members[m.DID]; dup {
				s.log.Warn("Member has more than one crew record; using the first", "member", m.DID, "used", prev, "ignored", rec.RKey)
				continue
			}
			s.members[m.DID] = rec.RKey
			if m.Role == RoleOwner {
				owners = append(owners, m.DID)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	s.log.Debug("Crew index loaded", "members", len(s.members))
	return owners, nil
}

// decodeMember parses a crew record value.
func decodeMember(val map[string]any) (Member, error) {
	var rec atcr.HoldCrew
	if err := atcr.FromMap(val, &rec); err != nil {
		return Member{}, err
	}
	did, err := syntax.ParseDID(rec.Member)
	if err != nil {
		return Member{}, fmt.Errorf("member: %w", err)
	}
	return Member{DID: did, Role: rec.Role, Permissions: rec.Permissions, Tier: rec.Tier, AddedAt: rec.AddedAt}, nil
}

// Member returns did's crew record, reading it fresh from the repository.
// ok is false when did is not crew.
func (s *Service) Member(ctx context.Context, did syntax.DID) (m Member, ok bool, err error) {
	if did == "" {
		return Member{}, false, nil
	}
	s.mu.Lock()
	rkey, indexed := s.members[did]
	s.mu.Unlock()
	if !indexed {
		return Member{}, false, nil
	}
	val, cid, err := s.pds.GetRecord(ctx, crewCollection, rkey)
	if errors.Is(err, pds.ErrRecordNotFound) {
		s.forget(did, rkey) // deleted through com.atproto.repo.deleteRecord
		return Member{}, false, nil
	}
	if err != nil {
		return Member{}, false, fmt.Errorf("read crew record of %s: %w", did, err)
	}
	m, err = decodeMember(val)
	if err != nil || m.DID != did {
		s.log.Warn("Crew record no longer describes its member", "member", did, "rkey", rkey, "err", err)
		s.forget(did, rkey)
		return Member{}, false, nil
	}
	m.URI = recordURI(s.pds.DID(), crewCollection, rkey)
	m.CID = cid
	return m, true, nil
}

// forget drops did from the index if it still points at rkey.
func (s *Service) forget(did syntax.DID, rkey syntax.RecordKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.members[did] == rkey {
		delete(s.members, did)
	}
}

// addMember creates did's crew record unless did already is crew, in which
// case the existing member is returned with created false.
func (s *Service) addMember(ctx context.Context, did syntax.DID, role string, perms []string) (Member, bool, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if m, ok, err := s.Member(ctx, did); err != nil || ok {
		return m, false, err
	}
	m := Member{DID: did, Role: role, Permissions: perms, AddedAt: s.timestamp()}
	rkey := crewKey(did)
	uri, cid, err := s.pds.CreateRecord(ctx, crewCollection, rkey, memberRecord(m))
	if errors.Is(err, pds.ErrRecordExists) {
		// The record exists but was not indexed (written by an import):
		// index it and report the member as it is stored.
		s.index(did, rkey)
		existing, ok, err := s.Member(ctx, did)
		if err != nil {
			return Member{}, false, err
		}
		if ok {
			return existing, false, nil
		}
		return Member{}, false, fmt.Errorf("crew record %s exists but names another member", rkey)
	}
	if err != nil {
		return Member{}, false, fmt.Errorf("create crew record for %s: %w", did, err)
	}
	s.index(did, rkey)
	m.URI, m.CID = uri, cid
	s.log.Info("Crew member added", "member", did, "role", role, "permissions", perms)
	return m, true, nil
}

// ensureOwnerCrew gives the owner a crew record with role owner and every
// permission, keeping the addedAt and tier of an existing one.
func (s *Service) ensureOwnerCrew(ctx context.Context) error {
	owner := s.settings.Owner
	all := []string{PermBlobRead, PermBlobWrite, PermCrewAdmin}
	m, created, err := s.addMember(ctx, owner, RoleOwner, all)
	if err != nil || created {
		return err
	}
	if m.Role == RoleOwner && containsAll(m.Permissions, all) {
		return nil
	}
	m.Role = RoleOwner
	m.Permissions = union(m.Permissions, all)
	return s.updateMember(ctx, m, "owner's crew record restored to role owner with every permission")
}

// demote turns a former owner's crew record into a plain member's: the
// owner is whoever the configuration names, and crew:admin was only granted
// for being the owner.
func (s *Service) demote(ctx context.Context, did syntax.DID) error {
	m, ok, err := s.Member(ctx, did)
	if err != nil || !ok || m.Role != RoleOwner {
		return err
	}
	m.Role = RoleMember
	m.Permissions = slices.DeleteFunc(slices.Clone(m.Permissions), func(p string) bool { return p == PermCrewAdmin })
	return s.updateMember(ctx, m, "former owner demoted to member (crew:admin removed)")
}

// updateMember rewrites m's crew record at its current key.
func (s *Service) updateMember(ctx context.Context, m Member, why string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	rkey := m.URI.RecordKey()
	if _, _, err := s.pds.PutRecord(ctx, crewCollection, rkey, memberRecord(m)); err != nil {
		return fmt.Errorf("update crew record of %s: %w", m.DID, err)
	}
	s.log.Warn("Crew record updated: "+why, "member", m.DID, "role", m.Role, "permissions", m.Permissions)
	return nil
}

func (s *Service) index(did syntax.DID, rkey syntax.RecordKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[did] = rkey
}

// memberRecord is m as an io.atcr.hold.crew record value.
func memberRecord(m Member) map[string]any {
	perms := make([]any, len(m.Permissions))
	for i, p := range m.Permissions {
		perms[i] = p
	}
	rec := map[string]any{
		"$type":       atcr.HoldCrewNSID,
		"member":      m.DID.String(),
		"role":        m.Role,
		"permissions": perms,
		"addedAt":     m.AddedAt,
	}
	if m.Tier != "" {
		rec["tier"] = m.Tier
	}
	return rec
}

func recordURI(did syntax.DID, coll syntax.NSID, rkey syntax.RecordKey) syntax.ATURI {
	return syntax.ATURI("at://" + did.String() + "/" + coll.String() + "/" + rkey.String())
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// union returns a followed by the elements of b it lacks.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
