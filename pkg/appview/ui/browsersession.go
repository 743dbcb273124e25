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
	// BrowserSessionCookie carries the browser session: 32 random bytes,
	// of which the database keeps only the SHA-256.
	BrowserSessionCookie = "atcr_session"
	// loginCookie binds a started OAuth login to the browser that started
	// it; it lives only on the callback's path.
	loginCookie     = "atcr_login"
	loginCookiePath = "/auth/oauth/"
	loginCookieTTL  = 30 * time.Minute
)

// BrowserSession is a logged-in browser: the web UI's session, kept in
// table web_sessions and named by the atcr_session cookie. It is neither
// the user's OAuth session nor an app-password session (docs/auth.md).
type BrowserSession struct {
	DID    syntax.DID
	Handle string // "" when the account has no valid handle
	// CSRF is the synchronizer token every form of this session carries.
	CSRF      string
	ExpiresAt time.Time
	idHash    string
}

// Display is the handle, or the DID when there is none.
func (s *BrowserSession) Display() string {
	if s.Handle != "" {
		return s.Handle
	}
	return s.DID.String()
}

// browserSessionStore keeps browser sessions in table web_sessions.
type browserSessionStore struct {
	db  *sql.DB
	ttl time.Duration
	now func() time.Time
}

// create stores a new browser session and returns the cookie value.
// Expired ones are purged on the way.
func (s *browserSessionStore) create(ctx context.Context, did syntax.DID, handle string) (string, *BrowserSession, error) {
	cookie, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	sess := &BrowserSession{DID: did, Handle: handle, CSRF: csrf, ExpiresAt: now.Add(s.ttl), idHash: hashToken(cookie)}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, now.Unix()); err != nil {
		return "", nil, fmt.Errorf("purge browser sessions: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO web_sessions (id_hash, did, handle, csrf_token, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, sess.idHash, did.String(), handle, csrf, now.Unix(), sess.ExpiresAt.Unix()); err != nil {
		return "", nil, fmt.Errorf("save browser session: %w", err)
	}
	return cookie, sess, nil
}

// lookup returns the live browser session of a cookie value, or nil.
func (s *browserSessionStore) lookup(ctx context.Context, cookie string) (*BrowserSession, error) {
	if cookie == "" || len(cookie) > 128 {
		return nil, nil
	}
	sess := &BrowserSession{idHash: hashToken(cookie)}
	var did string
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT did, handle, csrf_token, expires_at FROM web_sessions WHERE id_hash = ? AND expires_at > ?`,
		sess.idHash, s.now().Unix()).Scan(&did, &sess.Handle, &sess.CSRF, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read browser session: %w", err)
	}
	sess.DID, sess.ExpiresAt = syntax.DID(did), time.Unix(expires, 0)
	return sess, nil
}

// delete ends a browser session.
func (s *browserSessionStore) delete(ctx context.Context, sess *BrowserSession) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, sess.idHash); err != nil {
		return fmt.Errorf("delete browser session: %w", err)
	}
	return nil
}

type browserSessionKey struct{}

// withBrowserSession puts the request's browser session (or nil) into its
// context.
func (ui *UI) withBrowserSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(BrowserSessionCookie)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := ui.browserSessions.lookup(r.Context(), c.Value)
		if err != nil {
			ui.log.ErrorContext(r.Context(), "ui: read browser session", "err", err)
			ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "Could not read your session; try again.")
			return
		}
		if sess == nil {
			http.SetCookie(w, ui.cookie(BrowserSessionCookie, "", "/", -1)) // stale or forged: clear it
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), browserSessionKey{}, sess)))
	})
}

// browserSessionFrom returns the request's browser session, or nil when
// logged out.
func browserSessionFrom(r *http.Request) *BrowserSession {
	s, _ := r.Context().Value(browserSessionKey{}).(*BrowserSession)
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
