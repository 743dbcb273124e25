package apppassword

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	lru "github.com/hashicorp/golang-lru/v2"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/servicetoken"
	"atcr.io/pkg/atproto/safehttp"
)

// Defaults applied when the matching Options field is zero.
const (
	DefaultRefreshMargin = 2 * time.Minute
	DefaultCacheSize     = 10_000
)

// pdsCallTimeout bounds PDS calls made on behalf of several waiting
// requests (a refresh), which run detached from any single request's
// cancellation.
const pdsCallTimeout = 15 * time.Second

// ErrNoSession means there is no usable app-password session for the
// account: the user never logged in here with an app password, or the PDS
// rejected the session's refresh token (revoked app password, expired
// session). A new `docker login` creates one.
var ErrNoSession = errors.New("no app-password session for this account")

// Options configures New.
type Options struct {
	// DB stores the sessions. Required.
	DB *db.DB
	// HTTPClient makes every PDS call; it must be the guarded client from
	// safehttp. nil means safehttp.New(safehttp.Options{}).
	HTTPClient *http.Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// RefreshMargin: Client refreshes the access token when it expires
	// within this margin. Default 2m.
	RefreshMargin time.Duration
	// CacheSize bounds the app-password sessions kept in memory (the
	// others stay in the database). Default 10000.
	CacheSize int
}

// Provider keeps the app-password sessions of the users who logged in with
// an app password and hands out PDS clients made from them. It is safe for
// concurrent use; create one per process and share it between the token
// endpoint, which fills it (Login), and pkg/appview/actas, which uses it.
type Provider struct {
	db     *db.DB
	http   *http.Client
	log    *slog.Logger
	now    func() time.Time
	margin time.Duration

	mu   sync.Mutex // guards live: one *session per DID at a time
	live *lru.Cache[syntax.DID, *session]
}

// New returns a Provider.
func New(opts Options) (*Provider, error) {
	if opts.DB == nil {
		return nil, errors.New("apppassword: Options.DB is required")
	}
	p := &Provider{
		db:     opts.DB,
		http:   opts.HTTPClient,
		log:    opts.Logger,
		now:    opts.Now,
		margin: opts.RefreshMargin,
	}
	if p.http == nil {
		p.http = safehttp.New(safehttp.Options{})
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.margin <= 0 {
		p.margin = DefaultRefreshMargin
	}
	size := opts.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	var err error
	if p.live, err = lru.New[syntax.DID, *session](size); err != nil {
		return nil, fmt.Errorf("apppassword: session cache: %w", err)
	}
	return p, nil
}

// Client returns an API client authenticated as did on its PDS through its
// app-password session. The access
// token is valid for at least the refresh margin when Client returns; later
// expiry is handled by indigo's PasswordAuth, which refreshes on the PDS's
// ExpiredToken answer. It returns an error wrapping ErrNoSession when the
// user has no usable session.
func (p *Provider) Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error) {
	s, err := p.session(ctx, did)
	if err != nil {
		return nil, err
	}
	if err := p.refreshIfDue(ctx, s); err != nil {
		return nil, err
	}
	return s.client(), nil
}

// session returns the in-memory session of did, loading it from the
// database on first use.
func (p *Provider) session(ctx context.Context, did syntax.DID) (*session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.live.Get(did); ok {
		return s, nil
	}
	stored, err := p.db.PDSSession(ctx, did)
	if errors.Is(err, db.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoSession, did)
	}
	if err != nil {
		return nil, err
	}
	s := p.newSession(stored)
	p.live.Add(did, s)
	return s, nil
}

// install makes stored the live session of its DID, replacing any other.
func (p *Provider) install(stored db.PDSSession) {
	s := p.newSession(stored)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live.Add(stored.DID, s)
}

// newSession builds the client for a stored session. Its RefreshCallback
// persists rotated tokens: the PDS has revoked the old refresh token, so the
// new one must survive a restart.
func (p *Provider) newSession(stored db.PDSSession) *session {
	s := &session{did: stored.DID, persistedRefresh: stored.RefreshJWT}
	data := atclient.PasswordSessionData{
		AccessToken:  stored.AccessJWT,
		RefreshToken: stored.RefreshJWT,
		AccountDID:   stored.DID,
		Host:         stored.PDSHost,
	}
	s.api = atclient.ResumePasswordSession(data, func(ctx context.Context, data atclient.PasswordSessionData) {
		p.persistRefresh(ctx, s, data)
	})
	s.api.Client = p.http
	// safehttp sets its own User-Agent when the request has none.
	s.api.Headers.Del("User-Agent")
	s.auth = s.api.Auth.(*atclient.PasswordAuth)
	return s
}

// persistRefresh runs under the session's PasswordAuth lock (indigo calls
// the callback while holding it), so persistedRefresh needs no other lock.
func (p *Provider) persistRefresh(ctx context.Context, s *session, data atclient.PasswordSessionData) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pdsCallTimeout)
	defer cancel()
	updated, err := p.db.UpdatePDSSessionTokens(ctx, s.did, s.persistedRefresh, data.AccessToken, data.RefreshToken,
		servicetoken.Expiry(data.AccessToken), p.now())
	switch {
	case err != nil:
		p.log.ErrorContext(ctx, "apppassword: persist refreshed session", "did", s.did, "err", err)
	case !updated:
		p.log.InfoContext(ctx, "apppassword: refreshed a session a newer login replaced", "did", s.did)
	default:
		p.log.DebugContext(ctx, "apppassword: refreshed session", "did", s.did)
	}
	s.persistedRefresh = data.RefreshToken
}

// refreshIfDue refreshes s when its access token expires within the margin.
// PasswordAuth.Refresh takes the session's lock and skips the call when the
// refresh token changed while waiting: that is what turns N concurrent
// callers into one refreshSession.
func (p *Provider) refreshIfDue(ctx context.Context, s *session) error {
	access, refresh := s.auth.GetTokens()
	exp := servicetoken.Expiry(access)
	if exp.IsZero() || p.now().Add(p.margin).Before(exp) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pdsCallTimeout)
	defer cancel()
	err := s.auth.Refresh(ctx, p.http, refresh)
	if err == nil {
		return nil
	}
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 && apiErr.StatusCode != http.StatusTooManyRequests {
		// The PDS refused the refresh token: the session is over.
		p.discard(ctx, s, refresh)
		return fmt.Errorf("%w: %s: refresh rejected: %w", ErrNoSession, s.did, err)
	}
	return fmt.Errorf("refresh app-password session of %s: %w", s.did, err)
}

// discard drops a session the PDS rejected, unless a newer login has
// already replaced it (in memory or in the database).
func (p *Provider) discard(ctx context.Context, s *session, refresh string) {
	p.mu.Lock()
	if live, ok := p.live.Peek(s.did); ok && live == s {
		p.live.Remove(s.did)
	}
	p.mu.Unlock()
	if err := p.db.DiscardPDSSession(ctx, s.did, refresh); err != nil {
		p.log.ErrorContext(ctx, "apppassword: drop rejected session", "did", s.did, "err", err)
	}
}

// session is the live state of one DID's app-password session.
type session struct {
	did  syntax.DID
	api  *atclient.APIClient // template; callers get copies
	auth *atclient.PasswordAuth
	// persistedRefresh is the refresh token last written to the database;
	// guarded by auth's lock.
	persistedRefresh string
}

// client returns a copy of the template that shares its PasswordAuth (and
// so its tokens and refresh lock) but not its mutable header map.
func (s *session) client() *atclient.APIClient {
	c := *s.api
	c.Headers = s.api.Headers.Clone()
	did := s.did
	c.AccountDID = &did
	return &c
}
