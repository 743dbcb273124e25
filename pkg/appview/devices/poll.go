package devices

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"golang.org/x/crypto/bcrypt"
)

// Issued is what an approved request yields, once.
type Issued struct {
	Secret   string
	DeviceID string
	DID      syntax.DID
	Handle   string
	Registry string
}

// Poll answers a client polling with deviceCode (RFC 8628 §3.4-3.5):
// ErrAuthorizationPending until the user decides, ErrSlowDown (and 5 s
// more interval) when polled faster than the interval, ErrAccessDenied,
// ErrExpiredToken after RequestTTL, ErrInvalidRequest for an unknown or
// used code, and for an approved request the new device secret. The
// secret is returned exactly once: issuing deletes the request in the
// same transaction that stores the device, and only one poll can win.
func (s *Service) Poll(ctx context.Context, deviceCode string) (*Issued, error) {
	if deviceCode == "" || len(deviceCode) > 256 {
		return nil, ErrInvalidRequest
	}
	hash := sha256Hex(deviceCode)
	now := s.now()
	var status, did, handle, name, addr string
	var interval, lastPoll, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT status, did, handle, client_name, remote_addr, interval_seconds, last_polled_at, expires_at
		FROM device_requests WHERE device_code_hash = ?`, hash).
		Scan(&status, &did, &handle, &name, &addr, &interval, &lastPoll, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrInvalidRequest
	}
	if err != nil {
		return nil, fmt.Errorf("read device request: %w", err)
	}
	if now.Unix() >= expires {
		s.deleteRequest(ctx, hash)
		return nil, ErrExpiredToken
	}
	if lastPoll != 0 && now.Unix()-lastPoll < interval {
		if _, err := s.db.ExecContext(ctx, `UPDATE device_requests SET interval_seconds = ?, last_polled_at = ? WHERE device_code_hash = ?`,
			interval+int64(slowDownStep/time.Second), now.Unix(), hash); err != nil {
			return nil, fmt.Errorf("update device request: %w", err)
		}
		return nil, ErrSlowDown
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE device_requests SET last_polled_at = ? WHERE device_code_hash = ?`, now.Unix(), hash); err != nil {
		return nil, fmt.Errorf("update device request: %w", err)
	}
	switch status {
	case "pending":
		return nil, ErrAuthorizationPending
	case "denied":
		s.deleteRequest(ctx, hash)
		return nil, ErrAccessDenied
	}
	return s.issue(ctx, hash, syntax.DID(did), handle, name, addr)
}

// issue turns an approved request into a device and its secret.
func (s *Service) issue(ctx context.Context, hash string, did syntax.DID, handle, name, addr string) (*Issued, error) {
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	id, err := newOpaque(12)
	if err != nil {
		return nil, err
	}
	hashed, err := bcrypt.GenerateFromPassword([]byte(secret), s.cost)
	if err != nil {
		return nil, fmt.Errorf("hash device secret: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("issue device secret: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	res, err := tx.ExecContext(ctx, `DELETE FROM device_requests WHERE device_code_hash = ? AND status = 'approved'`, hash)
	if err != nil {
		return nil, fmt.Errorf("issue device secret: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, ErrInvalidRequest // another poll issued it first
	}
	now := s.now().Unix()
	if _, err := tx.ExecContext(ctx, `INSERT INTO devices (id, did, handle, name, remote_addr, secret_bcrypt, secret_hint, created_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`, id, did.String(), handle, name, addr, string(hashed), secretHint(secret), now); err != nil {
		return nil, fmt.Errorf("save device: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("issue device secret: %w", err)
	}
	s.log.InfoContext(ctx, "devices: issued device secret", "did", did, "device", id, "name", name)
	return &Issued{Secret: secret, DeviceID: id, DID: did, Handle: handle, Registry: s.service}, nil
}

func (s *Service) deleteRequest(ctx context.Context, hash string) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM device_requests WHERE device_code_hash = ?`, hash); err != nil {
		s.log.WarnContext(ctx, "devices: delete request", "err", err)
	}
}
