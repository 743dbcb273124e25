package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// PDSSession is a user's session on their PDS, created from an app-password
// login: the tokens the AppView uses to write the user's records and to mint
// service tokens for holds.
type PDSSession struct {
	DID syntax.DID
	// PDSHost is the PDS base URL (scheme://host[:port]) the session lives on.
	PDSHost    string
	AccessJWT  string
	RefreshJWT string
	// AccessExpiresAt is the access token's exp; zero when it has none.
	AccessExpiresAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// PDSSession returns the stored session of did, or an error wrapping
// ErrNotFound.
func (d *DB) PDSSession(ctx context.Context, did syntax.DID) (PDSSession, error) {
	s := PDSSession{DID: did}
	var expires, created, updated int64
	err := d.sql.QueryRowContext(ctx, `SELECT pds_host, access_jwt, refresh_jwt, access_expires_at, created_at, updated_at
		FROM pds_sessions WHERE did = ?`, did.String()).
		Scan(&s.PDSHost, &s.AccessJWT, &s.RefreshJWT, &expires, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return PDSSession{}, fmt.Errorf("PDS session of %s: %w", did, ErrNotFound)
	}
	if err != nil {
		return PDSSession{}, fmt.Errorf("read PDS session of %s: %w", did, err)
	}
	s.AccessExpiresAt, s.CreatedAt, s.UpdatedAt = fromUnix(expires), fromUnix(created), fromUnix(updated)
	return s, nil
}

// SavePDSSession stores s as the session of s.DID, replacing any previous
// one (a new login supersedes the old session). CreatedAt and UpdatedAt are
// written as given.
func (d *DB) SavePDSSession(ctx context.Context, s PDSSession) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO pds_sessions
		(did, pds_host, access_jwt, refresh_jwt, access_expires_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(did) DO UPDATE SET
			pds_host = excluded.pds_host, access_jwt = excluded.access_jwt, refresh_jwt = excluded.refresh_jwt,
			access_expires_at = excluded.access_expires_at, created_at = excluded.created_at,
			updated_at = excluded.updated_at`,
		s.DID.String(), s.PDSHost, s.AccessJWT, s.RefreshJWT, unix(s.AccessExpiresAt), unix(s.CreatedAt), unix(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save PDS session of %s: %w", s.DID, err)
	}
	return nil
}

// UpdatePDSSessionTokens stores refreshed tokens for did, but only while the
// stored refresh token is still priorRefreshJWT: a login that replaced the
// session meanwhile wins over a refresh of the old one. It reports whether a
// row was updated.
func (d *DB) UpdatePDSSessionTokens(ctx context.Context, did syntax.DID, priorRefreshJWT, accessJWT, refreshJWT string, accessExpiresAt, now time.Time) (bool, error) {
	res, err := d.sql.ExecContext(ctx, `UPDATE pds_sessions
		SET access_jwt = ?, refresh_jwt = ?, access_expires_at = ?, updated_at = ?
		WHERE did = ? AND refresh_jwt = ?`,
		accessJWT, refreshJWT, unix(accessExpiresAt), unix(now), did.String(), priorRefreshJWT)
	if err != nil {
		return false, fmt.Errorf("update PDS session of %s: %w", did, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("update PDS session of %s: %w", did, err)
	}
	return n == 1, nil
}

// DeletePDSSession removes the session of did; deleting a missing session
// is not an error.
func (d *DB) DeletePDSSession(ctx context.Context, did syntax.DID) error {
	if _, err := d.sql.ExecContext(ctx, `DELETE FROM pds_sessions WHERE did = ?`, did.String()); err != nil {
		return fmt.Errorf("delete PDS session of %s: %w", did, err)
	}
	return nil
}

// DiscardPDSSession removes the session of did only while its refresh token
// is still refreshJWT: a session the PDS rejected is dropped, but not a
// newer login that replaced it meanwhile.
func (d *DB) DiscardPDSSession(ctx context.Context, did syntax.DID, refreshJWT string) error {
	if _, err := d.sql.ExecContext(ctx, `DELETE FROM pds_sessions WHERE did = ? AND refresh_jwt = ?`, did.String(), refreshJWT); err != nil {
		return fmt.Errorf("discard PDS session of %s: %w", did, err)
	}
	return nil
}
