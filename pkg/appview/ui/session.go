package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Cookie names.
const (
	// SessionCookie carries the browser session: 32 random bytes, of which
	// the database keeps only the SHA-256.
	SessionCookie = "atcr_session"
	// loginCookie binds a started OAuth login to the browser that started
	// it; it lives only on the callback's path.
	loginCookie     = "atcr_login"
	loginCookiePath = "/auth/oauth/"
	loginCookieTTL  = 30 * time.Minute
)

// Session is a logged-in browser.
type Session struct {
	DID    syntax.DID
	Handle string // "" when the account has no valid handle
	// CSRF is the synchronizer token every form of this session carries.
	CSRF      string
	ExpiresAt time.Time
	idHash    string
}

// Display is the handle, or the DID when there is none.
func (s *Session) Display() string {
	if s.Handle != "" {
		return s.Handle
	}
	return s.DID.String()
}

// sessionStore keeps browser sessions in table web_sessions.
type sessionStore struct {
	db  *sql.DB
	ttl time.Duration
	now func() time.Time
}

// create stores a new session and returns the cookie value. Expired
// sessions are purged on the way.
func (s *sessionStore) create(ctx context.Context, did syntax.DID, handle string) (string, *Session, error) {
	cookie, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	sess := &Session{DID: did, Handle: handle, CSRF: csrf, ExpiresAt: now.Add(s.ttl), idHash: hashToken(cookie)}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, now.Unix()); err != nil {
		return "", nil, fmt.Errorf("purge web sessions: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO web_sessions (id_hash, did, handle, csrf_token, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, sess.idHash, did.String(), handle, csrf, now.Unix(), sess.ExpiresAt.Unix()); err != nil {
		return "", nil, fmt.Errorf("save web session: %w", err)
	}
	return cookie, sess, nil
}

// lookup returns the live session of a cookie value, or nil.
func (s *sessionStore) lookup(ctx context.Context, cookie string) (*Session, error) {
	if cookie == "" || len(cookie) > 128 {
		return nil, nil
	}
	sess := &Session{idHash: hashToken(cookie)}
	var did string
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT did, handle, csrf_token, expires_at FROM web_sessions WHERE id_hash = ? AND expires_at > ?`,
		sess.idHash, s.now().Unix()).Scan(&did, &sess.Handle, &sess.CSRF, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read web session: %w", err)
	}
	sess.DID, sess.ExpiresAt = syntax.DID(did), time.Unix(expires, 0)
	return sess, nil
}

// delete ends a session.
func (s *sessionStore) delete(ctx context.Context, sess *Session) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, sess.idHash); err != nil {
		return fmt.Errorf("delete web session: %w", err)
	}
	return nil
}

type sessionKey struct{}

// withSession puts the request's session (or nil) into its context.
func (ui *UI) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := ui.sessions.lookup(r.Context(), c.Value)
		if err != nil {
			ui.log.ErrorContext(r.Context(), "ui: session", "err", err)
			ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "Could not read your session; try again.")
			return
		}
		if sess == nil {
			http.SetCookie(w, ui.cookie(SessionCookie, "", "/", -1)) // stale or forged: clear it
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

// sessionFrom returns the request's session, or nil when logged out.
func sessionFrom(r *http.Request) *Session {
	s, _ := r.Context().Value(sessionKey{}).(*Session)
	return s
}

// cookie builds a cookie with the UI's attributes: HttpOnly, SameSite=Lax
// (sent on the top-level GET that comes back from the PDS, never on a
// cross-site POST), Secure except on a plain-http loopback AppView.
// maxAge < 0 deletes the cookie.
func (ui *UI) cookie(name, value, path string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   ui.secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// randomToken returns base64url of 32 random bytes.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
