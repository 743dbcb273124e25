package actas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"

	"atcr.io/pkg/appview/appoauth"
	"atcr.io/pkg/appview/apppassword"
	"atcr.io/pkg/appview/servicetoken"
	"atcr.io/pkg/keyedmutex"
)

// ErrNoSession means the AppView holds neither an OAuth session nor an
// app-password session for the account (never logged in here, or the PDS
// refused the session's refresh). The registry answers it with 401: the
// user logs in again.
var ErrNoSession = errors.New("no OAuth or app-password session for this account; log in again")

// Options configures New.
type Options struct {
	// OAuth returns a PDS client authenticated through the user's OAuth
	// session: (*appoauth.Client).APIClient. Its errors wrap
	// appoauth.ErrNoOAuthSession when the user has none. Required.
	OAuth servicetoken.ClientFunc
	// AppPassword returns a PDS client authenticated through the user's
	// app-password session: (*apppassword.Provider).Client. Its errors wrap
	// apppassword.ErrNoSession when the user has none. Required.
	AppPassword servicetoken.ClientFunc
	// ServiceTokenTTL is the lifetime asked of getServiceAuth. Default
	// servicetoken.DefaultTTL (5m), at most servicetoken.MaxTTL (the
	// reference PDS's limit for a token bound to a method).
	ServiceTokenTTL time.Duration
	// ServiceTokenMargin: a cached service token is re-minted this long
	// before it expires. Default servicetoken.DefaultMargin (10s).
	ServiceTokenMargin time.Duration
	// CacheSize bounds the service tokens kept per source. Default
	// servicetoken.DefaultCacheSize (10000).
	CacheSize int
	// Redis, when set, shares the service tokens with the other AppViews
	// using it (servicetoken.Options.Redis), under RedisPrefix + "stok:".
	// With Redis the AppViews also take a shared lock per account for
	// their writes to its repository (repowrites.go), under RedisPrefix +
	// "pdswrite:".
	Redis       redis.UniversalClient
	RedisPrefix string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Chooser decides, per call, which of a user's sessions the AppView acts
// through (see the package documentation). It is safe for concurrent use;
// create one per process.
type Chooser struct {
	oauth, appPassword             servicetoken.ClientFunc
	oauthTokens, appPasswordTokens *servicetoken.Cache
	repoWrites                     keyedmutex.Map   // one write per account's repository at a time (repowrites.go)
	sharedWrites                   *sharedWriteLock // the same across the AppViews sharing Redis; nil without
}

// New returns a Chooser over the two sources.
func New(opts Options) (*Chooser, error) {
	if opts.OAuth == nil || opts.AppPassword == nil {
		return nil, errors.New("actas: Options.OAuth and Options.AppPassword are required")
	}
	if opts.ServiceTokenTTL > servicetoken.MaxTTL {
		return nil, fmt.Errorf("actas: ServiceTokenTTL %s exceeds the PDS limit %s", opts.ServiceTokenTTL, servicetoken.MaxTTL)
	}
	c := &Chooser{oauth: opts.OAuth, appPassword: appPasswordSource(opts.AppPassword)}
	if opts.Redis != nil {
		log := opts.Logger
		if log == nil {
			log = slog.Default()
		}
		c.sharedWrites = &sharedWriteLock{rdb: opts.Redis, prefix: opts.RedisPrefix + "pdswrite:", log: log}
	}
	tokens := func(client servicetoken.ClientFunc, kind string) (*servicetoken.Cache, error) {
		return servicetoken.New(servicetoken.Options{Client: client, Now: opts.Now,
			TTL: opts.ServiceTokenTTL, Margin: opts.ServiceTokenMargin, Size: opts.CacheSize,
			Redis: opts.Redis, RedisKey: opts.RedisPrefix + "stok:" + kind + ":"})
	}
	var err error
	if c.oauthTokens, err = tokens(c.oauth, "oauth"); err != nil {
		return nil, fmt.Errorf("actas: %w", err)
	}
	if c.appPasswordTokens, err = tokens(c.appPassword, "app"); err != nil {
		return nil, fmt.Errorf("actas: %w", err)
	}
	return c, nil
}

// appPasswordSource makes the app-password source's "no session" the
// package's ErrNoSession: it is the last source asked, so its "no session"
// means the user has none at all.
func appPasswordSource(client servicetoken.ClientFunc) servicetoken.ClientFunc {
	return func(ctx context.Context, did syntax.DID) (*atclient.APIClient, error) {
		api, err := client(ctx, did)
		if errors.Is(err, apppassword.ErrNoSession) {
			return nil, fmt.Errorf("%w: %w", ErrNoSession, err)
		}
		return api, err
	}
}

// Client returns a PDS client authenticated as did: through its OAuth
// session if it has one, otherwise through its app-password session.
// Without either the error wraps ErrNoSession. Its writes to did's
// repository are sent one at a time with those of every other client
// this Chooser handed out for did (repowrites.go).
func (c *Chooser) Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error) {
	api, err := c.oauth(ctx, did)
	if errors.Is(err, appoauth.ErrNoOAuthSession) {
		api, err = c.appPassword(ctx, did)
		if errors.Is(err, ErrNoSession) {
			api, err = c.oauthAfterAll(ctx, did, err)
		}
	}
	if err != nil {
		return nil, err
	}
	return serialised(api, did, &c.repoWrites, c.sharedWrites), nil
}

// ServiceToken returns a service token minted by did's PDS for calling
// method lxm on the service aud: through did's OAuth session if it has one
// and its grant covers lxm, otherwise through its app-password session.
// Without either the error wraps ErrNoSession. lxm is required: a token
// bound to a method is the narrowest the PDS issues.
func (c *Chooser) ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error) {
	tok, err := c.oauthTokens.Token(ctx, did, aud, lxm)
	switch {
	case errors.Is(err, appoauth.ErrNoOAuthSession):
		tok, err = c.appPasswordTokens.Token(ctx, did, aud, lxm)
		if errors.Is(err, ErrNoSession) {
			// The OAuth source may have answered from its memory of an
			// account without a session (appoauth.FreshLookup): ask it
			// again before "log in again".
			if fresh, ferr := c.oauthTokens.Token(appoauth.FreshLookup(ctx), did, aud, lxm); ferr == nil {
				return fresh, nil
			}
		}
		return tok, err
	case grantLacksMethod(err):
		return c.appPasswordTokens.Token(ctx, did, aud, lxm)
	}
	return tok, err
}

// oauthAfterAll asks the OAuth source again, past its memory of accounts
// without a session (appoauth.FreshLookup), when the account has no
// app-password session either: a login through another AppView of a
// cluster is then used at once. noSession is returned when there is still
// none.
func (c *Chooser) oauthAfterAll(ctx context.Context, did syntax.DID, noSession error) (*atclient.APIClient, error) {
	api, err := c.oauth(appoauth.FreshLookup(ctx), did)
	if errors.Is(err, appoauth.ErrNoOAuthSession) {
		return nil, noSession
	}
	return api, err
}

// grantLacksMethod reports whether the PDS refused an OAuth session a
// service token because its grant holds no rpc scope for the method (HTTP
// 403: an older login, or a PDS that dropped the scope). Only
// getServiceAuth answers with an *atclient.APIError: the OAuth source's
// own failures (no session, refused refresh) are plain errors.
func grantLacksMethod(err error) bool {
	var apiErr *atclient.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden
}
