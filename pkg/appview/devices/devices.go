package devices

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"golang.org/x/crypto/bcrypt"

	"atcr.io/pkg/appview/auth"
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
// device verifier reads the table on every call and caches nothing.
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

var _ auth.CredentialVerifier = (*Service)(nil)

// Verify implements auth.CredentialVerifier: a secret starting with
// SecretPrefix is checked against the account's devices (bcrypt, only the
// row whose hint matches), every other secret goes to the next verifier.
// Nothing is cached, so a revoked device fails at once; a device secret is
// never sent to the PDS as a password.
func (s *Service) Verify(ctx context.Context, identifier, secret string) (*auth.Identity, error) {
	if !strings.HasPrefix(secret, SecretPrefix) {
		return s.next.Verify(ctx, identifier, secret)
	}
	ident, err := auth.ResolveLogin(ctx, s.dir, identifier)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, secret_bcrypt, last_used_at FROM devices WHERE did = ? AND secret_hint = ?`,
		ident.DID.String(), secretHint(secret))
	if err != nil {
		return nil, fmt.Errorf("read devices of %s: %w", ident.DID, err)
	}
	type candidate struct {
		id, hash string
		used     int64
	}
	var found []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.id, &c.hash, &c.used); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read devices of %s: %w", ident.DID, err)
		}
		found = append(found, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read devices of %s: %w", ident.DID, err)
	}
	for _, c := range found {
		if bcrypt.CompareHashAndPassword([]byte(c.hash), []byte(secret)) != nil {
			continue
		}
		s.touch(ctx, c.id, c.used)
		return &auth.Identity{DID: ident.DID, Handle: ident.Handle}, nil
	}
	return nil, fmt.Errorf("%w: no device of %s has this secret", auth.ErrInvalidCredentials, ident.DID)
}

// touch records a use, at most once per lastUsedInterval.
func (s *Service) touch(ctx context.Context, id string, used int64) {
	now := s.now()
	if used != 0 && now.Sub(time.Unix(used, 0)) < lastUsedInterval {
		return
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE devices SET last_used_at = ? WHERE id = ?`, now.Unix(), id); err != nil {
		s.log.WarnContext(ctx, "devices: record use", "device", id, "err", err)
	}
}
