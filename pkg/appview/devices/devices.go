package devices

import (
	"context"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Device is a credential-helper installation allowed to log in as a user.
type Device struct {
	ID         string
	Name       string
	RemoteAddr string
	CreatedAt  time.Time
	// LastUsedAt is zero when the secret was never used.
	LastUsedAt time.Time
}

// List returns did's devices, newest first.
func (s *Service) List(ctx context.Context, did syntax.DID) ([]Device, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, remote_addr, created_at, last_used_at FROM devices
		WHERE did = ? ORDER BY created_at DESC, rowid DESC`, did.String())
	if err != nil {
		return nil, fmt.Errorf("list devices of %s: %w", did, err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		var d Device
		var created, used int64
		if err := rows.Scan(&d.ID, &d.Name, &d.RemoteAddr, &created, &used); err != nil {
			return nil, fmt.Errorf("list devices of %s: %w", did, err)
		}
		d.CreatedAt = time.Unix(created, 0).UTC()
		if used != 0 {
			d.LastUsedAt = time.Unix(used, 0).UTC()
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Revoke deletes did's device id. Its secret fails at the next check: the
// device verifier reads the device's row on every call (only the bcrypt
// result is cached, keyed by the stored hash), and a deleted row matches
// nothing.
func (s *Service) Revoke(ctx context.Context, did syntax.DID, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM devices WHERE id = ? AND did = ?`, id, did.String())
	if err != nil {
		return fmt.Errorf("revoke device of %s: %w", did, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrUnknownDevice
	}
	s.log.InfoContext(ctx, "devices: revoked", "did", did, "device", id)
	return nil
}
