package appoauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/atcrypto"
	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/servicetoken"
)

// refreshTimeout bounds a token refresh, which runs detached from the
// request that triggered it (other requests wait for it too).
const refreshTimeout = 15 * time.Second

// Live sessions of accounts idle for liveIdle are unloaded (their slot and
// lock stay, a few dozen bytes) once more than maxLoaded slots exist.
const (
	maxLoaded = 10_000
	liveIdle  = 30 * time.Minute
)

// liveSession is the one in-memory ClientSession of an account.
//
// indigo's ClientSession locks its own data, but two ClientSession values
// for the same session (ResumeSession makes a new one per call) would each
// refresh with the same refresh token, and the PDS treats the second use as
// a replay and revokes the grant. So the AppView keeps one ClientSession
// per DID, and mu — the per-DID lock — serialises loading and refreshing
// it: N concurrent requests that find the token due cause one refresh.
type liveSession struct {
	mu   sync.Mutex
	sess *indigooauth.ClientSession // nil until loaded
	// absentUntil: the database held no session for the account when it
	// was last asked; until then APIClient answers so without asking.
	absentUntil time.Time
	// used is the last time entry returned the slot; guarded by Client.liveMu.
	used time.Time
}

// entry returns the live slot of did, creating an empty one. Slots are
// never removed, so there is exactly one lock per account for the life of
// the process; idle sessions are unloaded instead (unloadIdle).
func (c *Client) entry(did syntax.DID) *liveSession {
	c.liveMu.Lock()
	defer c.liveMu.Unlock()
	l, ok := c.live[did]
	if !ok {
		if len(c.live) >= maxLoaded && len(c.live)%1000 == 0 {
			c.unloadIdle()
		}
		l = &liveSession{}
		c.live[did] = l
	}
	l.used = c.now()
	return l
}

// unloadIdle drops the loaded sessions of slots unused for liveIdle; a
// slot whose lock is held is in use and skipped. Called under liveMu.
func (c *Client) unloadIdle() {
	cutoff := c.now().Add(-liveIdle)
	for _, l := range c.live {
		if l.used.Before(cutoff) && l.mu.TryLock() {
			l.sess = nil
			l.mu.Unlock()
		}
	}
}

// forget drops did's live session so the next use reloads from the
// database. The slot (and its lock) stays.
func (c *Client) forget(did syntax.DID) {
	l := c.entry(did)
	l.mu.Lock()
	l.sess = nil
	l.absentUntil = time.Time{}
	l.mu.Unlock()
}

// absentTTL is how long "no OAuth session" is remembered per account. The
// Chooser (pkg/appview/actas) asks for the OAuth session of every account
// first, so an app-password user cost a database query on every PDS client
// and service token (10 % of the AppView's CPU under a push load). A login
// through this AppView clears it at once (forget); a login through another
// AppView of a cluster is seen within absentTTL, or at once by a caller
// that asks with FreshLookup.
const absentTTL = 10 * time.Second

type freshLookupKey struct{}

// FreshLookup marks ctx so that APIClient reads the database even when it
// found no session for the account a moment ago: the Chooser does so when
// the account has no app-password session either, before answering "log
// in again".
func FreshLookup(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshLookupKey{}, true)
}

// IsFreshLookup reports whether ctx was marked by FreshLookup.
func IsFreshLookup(ctx context.Context) bool {
	fresh, _ := ctx.Value(freshLookupKey{}).(bool)
	return fresh
}

// APIClient returns an API client for did's PDS authenticated with its
// OAuth session (DPoP nonces and reactive refreshes are indigo's). The
// access token is refreshed first when it expires within the refresh
// margin. It returns an error wrapping ErrNoOAuthSession when the account
// has no session (remembered for absentTTL unless ctx is FreshLookup's),
// or when the PDS refused the refresh (the grant was revoked or expired;
// the session is then deleted).
func (c *Client) APIClient(ctx context.Context, did syntax.DID) (*atclient.APIClient, error) {
	l := c.entry(did)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess == nil {
		if c.now().Before(l.absentUntil) && !IsFreshLookup(ctx) {
			return nil, fmt.Errorf("%w: %s", ErrNoOAuthSession, did)
		}
		data, err := c.store.latestSession(ctx, did)
		if errors.Is(err, ErrNoOAuthSession) {
			l.absentUntil = c.now().Add(absentTTL)
		}
		if err != nil {
			return nil, err
		}
		l.absentUntil = time.Time{}
		if l.sess, err = c.newSession(data); err != nil {
			return nil, err
		}
	}
	if err := c.refreshIfDue(ctx, l); err != nil {
		return nil, err
	}
	return l.sess.APIClient(), nil
}

// resume builds a ClientSession for a stored session outside the live
// table (used for revocation only).
func (c *Client) resume(ctx context.Context, did syntax.DID, sessionID string) (*indigooauth.ClientSession, error) {
	data, err := c.store.GetSession(ctx, did, sessionID)
	if err != nil {
		return nil, err
	}
	return c.newSession(data)
}

// newSession wraps stored data in a ClientSession whose persistence
// callback only updates an existing row (see Store.updateSession).
func (c *Client) newSession(data *indigooauth.ClientSessionData) (*indigooauth.ClientSession, error) {
	key, err := atcrypto.ParsePrivateMultibase(data.DPoPPrivateKeyMultibase)
	if err != nil {
		return nil, fmt.Errorf("OAuth session of %s: DPoP key: %w", data.AccountDID, err)
	}
	sess := &indigooauth.ClientSession{
		Client:         c.app.Client,
		Config:         c.app.Config,
		Data:           data,
		DPoPPrivateKey: key,
	}
	// indigo calls this under the session's own lock, after a refresh or a
	// DPoP nonce change. The PDS has already rotated the refresh token, so
	// the write must not depend on the caller's request staying alive.
	sess.PersistSessionCallback = func(ctx context.Context, d *indigooauth.ClientSessionData) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		ok, err := c.store.updateSession(ctx, d)
		switch {
		case err != nil:
			c.log.ErrorContext(ctx, "oauth: persist session", "did", d.AccountDID, "err", err)
		case !ok:
			c.log.DebugContext(ctx, "oauth: session was replaced or ended; not persisting", "did", d.AccountDID)
		}
	}
	return sess, nil
}

// refreshIfDue refreshes l's tokens when the access token expires within
// the margin. It runs under l.mu, so one refresh per account at a time.
//
// Several AppViews may share the session (one database): the refresh then
// also holds the database's lock for the account, and first reads the
// stored session. When another AppView refreshed meanwhile, its rotated
// tokens are taken as they are: the refresh token in memory is spent, and
// sending it again would look like a replay to the PDS, which revokes the
// grant.
func (c *Client) refreshIfDue(ctx context.Context, l *liveSession) error {
	if !c.due(l) {
		return nil
	}
	did := l.sess.Data.AccountDID
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	unlock, err := c.lock(ctx, "oauth refresh "+did.String())
	if err != nil {
		return fmt.Errorf("refresh OAuth session of %s: %w", did, err)
	}
	defer unlock()
	stored, err := c.store.GetSession(ctx, did, l.sess.Data.SessionID)
	if err == nil && stored.RefreshToken != l.sess.Data.RefreshToken {
		if sess, err := c.newSession(stored); err == nil {
			l.sess = sess
			if !c.due(l) {
				c.log.DebugContext(ctx, "oauth: took the session another AppView refreshed", "did", did)
				return nil
			}
		}
	}
	if _, err := l.sess.RefreshTokens(ctx); err != nil {
		if refreshRejected(err) {
			sessionID := l.sess.Data.SessionID
			l.sess = nil
			if derr := c.store.DeleteSession(ctx, did, sessionID); derr != nil {
				c.log.ErrorContext(ctx, "oauth: drop rejected session", "did", did, "err", derr)
			}
			c.log.InfoContext(ctx, "oauth: the PDS refused the refresh token; session dropped", "did", did, "err", err)
			return fmt.Errorf("%w: %s: refresh rejected: %w", ErrNoOAuthSession, did, err)
		}
		return fmt.Errorf("refresh OAuth session of %s: %w", did, err)
	}
	c.log.DebugContext(ctx, "oauth: refreshed session", "did", did)
	return nil
}

// due reports whether l's access token expires within the refresh margin.
func (c *Client) due(l *liveSession) bool {
	access, _ := l.sess.GetHostAccessData()
	exp := servicetoken.Expiry(access)
	return !exp.IsZero() && !c.now().Add(c.margin).Before(exp)
}

// refreshRejected reports whether a refresh failed because the
// authorization server refused the grant (a 4xx answer such as
// invalid_grant), as opposed to a network or server failure worth
// retrying later. indigo reports the status only in the message.
func refreshRejected(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "(HTTP 400)") || strings.Contains(msg, "(HTTP 401)") || strings.Contains(msg, "(HTTP 403)")
}
