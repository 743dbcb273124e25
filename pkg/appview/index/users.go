package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/atproto/atcr"
)

// User is an account as the UI shows it.
type User struct {
	DID syntax.DID
	// Handle is lowercase, "" while unknown.
	Handle      string
	DisplayName string
	Description string
	// AvatarCID is the CID of the profile's avatar blob, "" when none.
	AvatarCID string
	// DefaultHold is the sailor profile's hold DID, "" when none.
	DefaultHold string
	UpdatedAt   time.Time
}

// ensureUser makes sure did has a users row (and a search row).
func (s *Store) ensureUser(ctx context.Context, tx *sql.Tx, did syntax.DID) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO users (did, updated_at) VALUES (?, ?) ON CONFLICT (did) DO NOTHING`,
		did.String(), s.now().Unix())
	if err != nil {
		return fmt.Errorf("write user %s: %w", did, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return s.refreshUserSearch(ctx, tx, did)
}

// updateUser sets columns of did's row, creating it; when that changed
// the row, it moves updated_at and refreshes the search row (so a replayed
// record leaves the row as it was). set is "col = ?, …" with args in order.
func (s *Store) updateUser(ctx context.Context, tx *sql.Tx, did syntax.DID, set string, args ...any) error {
	if err := s.ensureUser(ctx, tx, did); err != nil {
		return err
	}
	const fields = `SELECT handle || x'00' || display_name || x'00' || description || x'00' || avatar_cid || x'00' || default_hold FROM users WHERE did = ?`
	var before, after string
	if err := tx.QueryRowContext(ctx, fields, did.String()).Scan(&before); err != nil {
		return fmt.Errorf("read user %s: %w", did, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET `+set+` WHERE did = ?`, append(args, did.String())...); err != nil {
		return fmt.Errorf("update user %s: %w", did, err)
	}
	if err := tx.QueryRowContext(ctx, fields, did.String()).Scan(&after); err != nil {
		return fmt.Errorf("read user %s: %w", did, err)
	}
	if before == after {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = ? WHERE did = ?`, s.now().Unix(), did.String()); err != nil {
		return fmt.Errorf("update user %s: %w", did, err)
	}
	return s.refreshUserSearch(ctx, tx, did)
}

func (s *Store) refreshUserSearch(ctx context.Context, tx *sql.Tx, did syntax.DID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_search WHERE rowid = (SELECT id FROM users WHERE did = ?)`, did.String()); err != nil {
		return fmt.Errorf("clear search row of %s: %w", did, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO user_search (rowid, handle, display_name)
		SELECT id, handle, display_name FROM users WHERE did = ?`+
		s.searchRowUpsert("handle = excluded.handle, display_name = excluded.display_name"), did.String()); err != nil {
		return fmt.Errorf("write search row of %s: %w", did, err)
	}
	return nil
}

// SetHandle records did's current handle, from a Jetstream identity event
// or a resolution done elsewhere; "" or handle.invalid clears it. The
// handle is searchable at once, on the user and on their repositories.
func (s *Store) SetHandle(ctx context.Context, did, handle string) error {
	d, err := syntax.ParseDID(did)
	if err != nil {
		return &InvalidRecordError{DID: did, Err: err}
	}
	handle = strings.ToLower(handle)
	if handle == syntax.HandleInvalid.String() {
		handle = ""
	}
	if handle != "" {
		if _, err := syntax.ParseHandle(handle); err != nil {
			return &InvalidRecordError{DID: did, Err: err}
		}
	}
	return s.inTx(ctx, "set handle of "+did, func(tx *sql.Tx) error {
		if err := s.updateUser(ctx, tx, d, `handle = ?`, handle); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE repository_search SET handle = ?
			WHERE rowid IN (SELECT id FROM repositories WHERE did = ?)`, handle, d.String()); err != nil {
			return fmt.Errorf("update repository search rows: %w", err)
		}
		return nil
	})
}

func (s *Store) putSailorProfile(ctx context.Context, tx *sql.Tx, did syntax.DID, p *atcr.SailorProfile) error {
	return s.updateUser(ctx, tx, did, `default_hold = ?`, defaultHoldDID(p.DefaultHold))
}

func (s *Store) clearSailorProfile(ctx context.Context, tx *sql.Tx, did syntax.DID) error {
	return s.updateUser(ctx, tx, did, `default_hold = ''`)
}

func (s *Store) putBskyProfile(ctx context.Context, tx *sql.Tx, did syntax.DID, p *bskyProfile) error {
	avatar := ""
	if p.Avatar != nil {
		avatar = p.Avatar.Ref.String()
	}
	return s.updateUser(ctx, tx, did, `display_name = ?, description = ?, avatar_cid = ?`, p.DisplayName, p.Description, avatar)
}

func (s *Store) clearBskyProfile(ctx context.Context, tx *sql.Tx, did syntax.DID) error {
	return s.updateUser(ctx, tx, did, `display_name = '', description = '', avatar_cid = ''`)
}

const userColumns = `did, handle, display_name, description, avatar_cid, default_hold, updated_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var did string
	var updated int64
	if err := row.Scan(&did, &u.Handle, &u.DisplayName, &u.Description, &u.AvatarCID, &u.DefaultHold, &updated); err != nil {
		return User{}, err
	}
	u.DID = syntax.DID(did)
	u.UpdatedAt = fromUnix(updated)
	return u, nil
}

// User returns the indexed account did; db.ErrNotFound (wrapped) when the
// index has never seen it.
func (s *Store) User(ctx context.Context, did string) (User, error) {
	return s.oneUser(ctx, `did = ?`, did)
}

// UserByHandle returns the account whose current handle is handle.
func (s *Store) UserByHandle(ctx context.Context, handle string) (User, error) {
	return s.oneUser(ctx, `handle = ? AND handle <> ''`, strings.ToLower(handle))
}

func (s *Store) oneUser(ctx context.Context, where string, arg string) (User, error) {
	u, err := scanUser(s.sql.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+where+` ORDER BY updated_at DESC LIMIT 1`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", truncate(arg), db.ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("read user %q: %w", truncate(arg), err)
	}
	return u, nil
}
