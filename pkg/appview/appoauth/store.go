package appoauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Sentinel errors of the store, returned wrapped.
var (
	// ErrNoOAuthSession: the account has no stored OAuth session (never
	// logged in through the browser, logged out, or its grant ended).
	ErrNoOAuthSession = errors.New("no OAuth session for this account")
	// ErrUnknownAuthRequest: a callback names a state this AppView did not
	// issue, or one that expired or was already used.
	ErrUnknownAuthRequest = errors.New("unknown or expired OAuth login request")
)

// authRequestTTL bounds how long a started login may take to come back.
const authRequestTTL = 30 * time.Minute

// Store is indigo's ClientAuthStore on the AppView database (tables
// oauth_auth_requests and oauth_sessions, migration 0003). Sessions hold the
// tokens and the DPoP key as indigo's JSON; the requested scopes are kept
// beside them so a changed configuration can be detected at start-up.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

var _ indigooauth.ClientAuthStore = (*Store)(nil)

// NewStore returns the store; now defaults to time.Now.
func NewStore(pool *sql.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: pool, now: now}
}

// GetSession returns the session (did, sessionID), or an error wrapping
// ErrNoOAuthSession.
func (s *Store) GetSession(ctx context.Context, did syntax.DID, sessionID string) (*indigooauth.ClientSessionData, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT data FROM oauth_sessions WHERE did = ? AND session_id = ?`,
		did.String(), sessionID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("OAuth session %s of %s: %w", sessionID, did, ErrNoOAuthSession)
	}
	if err != nil {
		return nil, fmt.Errorf("read OAuth session of %s: %w", did, err)
	}
	return decodeSession(did, raw)
}

// SaveSession inserts or updates a session. A new row records the scopes
// the login asked for, read from its auth request (whose state is the
// session ID; indigo deletes the request only after this call).
func (s *Store) SaveSession(ctx context.Context, sess indigooauth.ClientSessionData) error {
	raw, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("encode OAuth session of %s: %w", sess.AccountDID, err)
	}
	requested := sess.Scopes
	if req, err := s.GetAuthRequestInfo(ctx, sess.SessionID); err == nil {
		requested = req.Scopes
	}
	now := s.now().Unix()
	_, err = s.db.ExecContext(ctx, `INSERT INTO oauth_sessions (did, session_id, data, requested_scopes, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(did, session_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		sess.AccountDID.String(), sess.SessionID, string(raw), strings.Join(requested, " "), now, now)
	if err != nil {
		return fmt.Errorf("save OAuth session of %s: %w", sess.AccountDID, err)
	}
	return nil
}

// updateSession writes refreshed tokens or nonces of a session that still
// exists. Unlike SaveSession it never inserts, so a session deleted
// meanwhile (a newer login, a logout) does not come back from a live
// client that still holds it. It reports whether the row was there.
func (s *Store) updateSession(ctx context.Context, sess *indigooauth.ClientSessionData) (bool, error) {
	raw, err := json.Marshal(sess)
	if err != nil {
		return false, fmt.Errorf("encode OAuth session of %s: %w", sess.AccountDID, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE oauth_sessions SET data = ?, updated_at = ? WHERE did = ? AND session_id = ?`,
		string(raw), s.now().Unix(), sess.AccountDID.String(), sess.SessionID)
	if err != nil {
		return false, fmt.Errorf("update OAuth session of %s: %w", sess.AccountDID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("update OAuth session of %s: %w", sess.AccountDID, err)
	}
	return n == 1, nil
}

// DeleteSession removes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, did syntax.DID, sessionID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM oauth_sessions WHERE did = ? AND session_id = ?`,
		did.String(), sessionID); err != nil {
		return fmt.Errorf("delete OAuth session of %s: %w", did, err)
	}
	return nil
}

// latestSession returns the newest session of did, or an error wrapping
// ErrNoOAuthSession.
func (s *Store) latestSession(ctx context.Context, did syntax.DID) (*indigooauth.ClientSessionData, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT data FROM oauth_sessions WHERE did = ?
		ORDER BY created_at DESC, rowid DESC LIMIT 1`, did.String()).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNoOAuthSession, did)
	}
	if err != nil {
		return nil, fmt.Errorf("read OAuth session of %s: %w", did, err)
	}
	return decodeSession(did, raw)
}

// otherSessions lists the session IDs of did except keep.
func (s *Store) otherSessions(ctx context.Context, did syntax.DID, keep string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT session_id FROM oauth_sessions WHERE did = ? AND session_id != ?`, did.String(), keep)
	if err != nil {
		return nil, fmt.Errorf("list OAuth sessions of %s: %w", did, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list OAuth sessions of %s: %w", did, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// GetAuthRequestInfo returns a pending login request that has not
// expired, or an error wrapping ErrUnknownAuthRequest.
func (s *Store) GetAuthRequestInfo(ctx context.Context, state string) (*indigooauth.AuthRequestData, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT data FROM oauth_auth_requests WHERE state = ? AND expires_at > ?`,
		state, s.now().Unix()).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownAuthRequest
	}
	if err != nil {
		return nil, fmt.Errorf("read OAuth auth request: %w", err)
	}
	var info indigooauth.AuthRequestData
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		return nil, fmt.Errorf("decode OAuth auth request: %w", err)
	}
	return &info, nil
}

// SaveAuthRequestInfo stores a new request with no return path and no
// browser binding (ClientApp.StartAuthFlow's path; the AppView itself uses
// saveAuthRequest). It is create-only, as the interface requires.
func (s *Store) SaveAuthRequestInfo(ctx context.Context, info indigooauth.AuthRequestData) error {
	return s.saveAuthRequest(ctx, info, "", "")
}

// saveAuthRequest stores a new request with the path to return to and the
// SHA-256 of the browser's login cookie. It also drops expired requests,
// which keeps the table to the logins of the last half hour.
func (s *Store) saveAuthRequest(ctx context.Context, info indigooauth.AuthRequestData, returnTo, binding string) error {
	raw, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("encode OAuth auth request: %w", err)
	}
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM oauth_auth_requests WHERE expires_at <= ?`, now.Unix()); err != nil {
		return fmt.Errorf("purge OAuth auth requests: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO oauth_auth_requests (state, data, return_to, browser_binding, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, info.State, string(raw), returnTo, bindingHash(binding), now.Unix(), now.Add(authRequestTTL).Unix())
	if err != nil {
		return fmt.Errorf("save OAuth auth request: %w", err)
	}
	return nil
}

// authRequestExtras returns the return path of a pending request and
// whether binding (the browser's login cookie) is the one that started it.
func (s *Store) authRequestExtras(ctx context.Context, state, binding string) (returnTo string, sameBrowser bool, err error) {
	var stored string
	err = s.db.QueryRowContext(ctx, `SELECT return_to, browser_binding FROM oauth_auth_requests WHERE state = ? AND expires_at > ?`,
		state, s.now().Unix()).Scan(&returnTo, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, ErrUnknownAuthRequest
	}
	if err != nil {
		return "", false, fmt.Errorf("read OAuth auth request: %w", err)
	}
	same := stored != "" && subtle.ConstantTimeCompare([]byte(stored), []byte(bindingHash(binding))) == 1
	return returnTo, same, nil
}

// DeleteAuthRequestInfo removes a request; a missing one is not an error.
func (s *Store) DeleteAuthRequestInfo(ctx context.Context, state string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM oauth_auth_requests WHERE state = ?`, state); err != nil {
		return fmt.Errorf("delete OAuth auth request: %w", err)
	}
	return nil
}

// sessionScopes is what the start-up scope check reads of each session.
type sessionScopes struct {
	DID       syntax.DID
	SessionID string
	Requested []string
	Granted   []string
}

// allSessionScopes lists every stored session's requested and granted scopes.
func (s *Store) allSessionScopes(ctx context.Context) ([]sessionScopes, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT did, session_id, requested_scopes, data FROM oauth_sessions`)
	if err != nil {
		return nil, fmt.Errorf("list OAuth sessions: %w", err)
	}
	defer rows.Close()
	var out []sessionScopes
	for rows.Next() {
		var did, id, requested, raw string
		if err := rows.Scan(&did, &id, &requested, &raw); err != nil {
			return nil, fmt.Errorf("list OAuth sessions: %w", err)
		}
		var data struct {
			Scopes []string `json:"scopes"`
		}
		_ = json.Unmarshal([]byte(raw), &data) // undecodable: no granted scopes, so it mismatches
		out = append(out, sessionScopes{DID: syntax.DID(did), SessionID: id, Requested: strings.Fields(requested), Granted: data.Scopes})
	}
	return out, rows.Err()
}

func decodeSession(did syntax.DID, raw string) (*indigooauth.ClientSessionData, error) {
	var sess indigooauth.ClientSessionData
	if err := json.Unmarshal([]byte(raw), &sess); err != nil {
		return nil, fmt.Errorf("decode OAuth session of %s: %w", did, err)
	}
	return &sess, nil
}

// bindingHash is the stored form of a browser binding; "" stays "" (no
// binding, which never matches).
func bindingHash(binding string) string {
	if binding == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(binding))
	return hex.EncodeToString(sum[:])
}
