package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/atproto/atcr"
)

// maxSuccessorHops bounds how far ResolveHold follows successors; a chain
// longer than this is treated like a loop.
const maxSuccessorHops = 8

// ErrSuccessorLoop: a hold's successors lead back to it (or on for more
// than maxSuccessorHops holds).
var ErrSuccessorLoop = errors.New("hold successors form a loop")

// Captain is a hold's indexed io.atcr.hold.captain record.
type Captain struct {
	HoldDID      syntax.DID
	Owner        syntax.DID
	Public       bool
	AllowAllCrew bool
	DeployedAt   time.Time
	Region       string
	Provider     string
	// Successor is the DID of the hold replacing this one, "" when none.
	Successor string
	UpdatedAt time.Time
}

// CrewMember is one indexed io.atcr.hold.crew record.
type CrewMember struct {
	HoldDID     syntax.DID
	RKey        string
	Member      syntax.DID
	Role        string
	Permissions []string
	Tier        string
	AddedAt     time.Time
}

// putCaptain indexes a captain record; its repo's DID is the hold's.
func (s *Store) putCaptain(ctx context.Context, tx *sql.Tx, hold syntax.DID, c *atcr.HoldCaptain) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO hold_captain_records
		(hold_did, owner_did, public, allow_all_crew, deployed_at, region, provider, successor, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hold_did) DO UPDATE SET owner_did = excluded.owner_did, public = excluded.public,
			allow_all_crew = excluded.allow_all_crew, deployed_at = excluded.deployed_at, region = excluded.region,
			provider = excluded.provider, successor = excluded.successor, updated_at = excluded.updated_at
		-- a replayed record changes nothing, not even updated_at
		WHERE (hold_captain_records.owner_did, hold_captain_records.public, hold_captain_records.allow_all_crew,
			hold_captain_records.deployed_at, hold_captain_records.region, hold_captain_records.provider,
			hold_captain_records.successor) IS DISTINCT FROM
			(excluded.owner_did, excluded.public, excluded.allow_all_crew, excluded.deployed_at,
			 excluded.region, excluded.provider, excluded.successor)`,
		hold.String(), c.Owner, c.Public, c.AllowAllCrew, s.clamp(parseTime(c.DeployedAt)), c.Region, c.Provider,
		c.Successor, s.now().Unix()); err != nil {
		return fmt.Errorf("write captain of %s: %w", hold, err)
	}
	return nil
}

// putCrew indexes a crew record of a hold's repo. A record naming a hold
// (the copy a hold writes into its owner's PDS when it registers,
// docs/hold-registration.md) sits in a user's repo, whose DID is not a
// hold's: it is skipped, or the owner would be listed as a hold.
func (s *Store) putCrew(ctx context.Context, tx *sql.Tx, hold syntax.DID, rkey, cid string, c *atcr.HoldCrew) error {
	if c.Hold != "" {
		return nil
	}
	perms, err := json.Marshal(append([]string{}, c.Permissions...))
	if err != nil {
		return fmt.Errorf("encode permissions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO hold_crew (hold_did, rkey, member_did, role, permissions, tier, added_at, cid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hold_did, rkey) DO UPDATE SET member_did = excluded.member_did, role = excluded.role,
			permissions = excluded.permissions, tier = excluded.tier, added_at = excluded.added_at, cid = excluded.cid`,
		hold.String(), rkey, c.Member, c.Role, string(perms), c.Tier, s.clamp(parseTime(c.AddedAt)), cid); err != nil {
		return fmt.Errorf("write crew of %s: %w", hold, err)
	}
	return nil
}

// Captain returns the indexed captain record of hold; db.ErrNotFound
// (wrapped) when the index has none.
func (s *Store) Captain(ctx context.Context, hold string) (Captain, error) {
	c, err := scanCaptain(s.sql.QueryRowContext(ctx, `SELECT `+captainColumns+` FROM hold_captain_records WHERE hold_did = ?`, hold))
	if errors.Is(err, sql.ErrNoRows) {
		return Captain{}, fmt.Errorf("captain of %s: %w", truncate(hold), db.ErrNotFound)
	}
	if err != nil {
		return Captain{}, fmt.Errorf("read captain of %s: %w", truncate(hold), err)
	}
	return c, nil
}

const captainColumns = `hold_did, owner_did, public, allow_all_crew, deployed_at, region, provider, successor, updated_at`

func scanCaptain(row interface{ Scan(...any) error }) (Captain, error) {
	var c Captain
	var holdDID, owner string
	var deployed, updated int64
	if err := row.Scan(&holdDID, &owner, &c.Public, &c.AllowAllCrew, &deployed, &c.Region, &c.Provider, &c.Successor, &updated); err != nil {
		return Captain{}, err
	}
	c.HoldDID, c.Owner = syntax.DID(holdDID), syntax.DID(owner)
	c.DeployedAt, c.UpdatedAt = fromUnix(deployed), fromUnix(updated)
	return c, nil
}

// maxPushHolds bounds the holds PushHolds lists.
const maxPushHolds = 200

// PushHolds returns the captains of the holds did may push to, by hold
// DID: public holds and holds that have did as crew, without the retired
// ones (a push to those goes to their successor, which is listed if did
// may use it). At most maxPushHolds.
func (s *Store) PushHolds(ctx context.Context, did string) ([]Captain, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT `+captainColumns+` FROM hold_captain_records
		WHERE successor = '' AND (public = 1 OR hold_did IN (SELECT hold_did FROM hold_crew WHERE member_did = ?))
		ORDER BY hold_did LIMIT ?`, did, maxPushHolds)
	if err != nil {
		return nil, fmt.Errorf("holds of %s: %w", truncate(did), err)
	}
	defer rows.Close()
	var out []Captain
	for rows.Next() {
		c, err := scanCaptain(rows)
		if err != nil {
			return nil, fmt.Errorf("holds of %s: %w", truncate(did), err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("holds of %s: %w", truncate(did), err)
	}
	return out, nil
}

// ResolveHold follows hold's successors and returns the hold new pushes
// should go to: hold itself when it has no successor (or no indexed
// captain), else the last hold of the chain. Pulls keep using the hold a
// manifest names; only pushes move. A loop returns ErrSuccessorLoop.
func (s *Store) ResolveHold(ctx context.Context, hold string) (string, error) {
	seen := map[string]bool{hold: true}
	current := hold
	for range maxSuccessorHops {
		c, err := s.Captain(ctx, current)
		if errors.Is(err, db.ErrNotFound) {
			return current, nil
		}
		if err != nil {
			return "", err
		}
		if c.Successor == "" {
			return current, nil
		}
		if seen[c.Successor] {
			return "", fmt.Errorf("%w: %s", ErrSuccessorLoop, truncate(hold))
		}
		seen[c.Successor] = true
		current = c.Successor
	}
	return "", fmt.Errorf("%w: more than %d successors from %s", ErrSuccessorLoop, maxSuccessorHops, truncate(hold))
}

// Crew returns the indexed crew records of hold, by member.
func (s *Store) Crew(ctx context.Context, hold string) ([]CrewMember, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT hold_did, rkey, member_did, role, permissions, tier, added_at
		FROM hold_crew WHERE hold_did = ? ORDER BY member_did, rkey`, hold)
	if err != nil {
		return nil, fmt.Errorf("read crew of %s: %w", truncate(hold), err)
	}
	defer rows.Close()
	var out []CrewMember
	for rows.Next() {
		var m CrewMember
		var holdDID, member, perms string
		var added int64
		if err := rows.Scan(&holdDID, &m.RKey, &member, &m.Role, &perms, &m.Tier, &added); err != nil {
			return nil, fmt.Errorf("read crew of %s: %w", truncate(hold), err)
		}
		if err := json.Unmarshal([]byte(perms), &m.Permissions); err != nil {
			return nil, fmt.Errorf("decode permissions of %s: %w", member, err)
		}
		m.HoldDID, m.Member, m.AddedAt = syntax.DID(holdDID), syntax.DID(member), fromUnix(added)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read crew of %s: %w", truncate(hold), err)
	}
	return out, nil
}
