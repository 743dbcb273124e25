package servicetoken

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// Defaults applied when the matching Options field is zero.
const (
	DefaultTTL       = 5 * time.Minute
	DefaultMargin    = 10 * time.Second
	DefaultCacheSize = 10_000
	// MaxTTL is the reference PDS's limit for a token bound to a method
	// (getServiceAuth refuses an exp more than an hour ahead), and the
	// hold's serviceauth.DefaultMaxLifetime.
	MaxTTL = time.Hour
)

// mintTimeout bounds one mint (getting the user's client and calling
// getServiceAuth), which runs detached from any single request's
// cancellation because several requests may wait for it.
const mintTimeout = 15 * time.Second

// pdsDefaultLifetime is what the PDS gives a token minted without exp.
const pdsDefaultLifetime = time.Minute

const getServiceAuth = "com.atproto.server.getServiceAuth"

// ClientFunc returns an API client authenticated as did on its PDS. Its
// errors are returned by Cache.Token unchanged (not wrapped), so a caller's
// sentinel errors (no session, ...) keep their meaning.
type ClientFunc func(ctx context.Context, did syntax.DID) (*atclient.APIClient, error)

// Options configures New.
type Options struct {
	// Client gives the session to mint through. Required.
	Client ClientFunc
	// Now defaults to time.Now.
	Now func() time.Time
	// TTL is the lifetime asked of getServiceAuth. Default DefaultTTL.
	TTL time.Duration
	// Margin: a cached token is re-minted this long before it expires; it
	// must be shorter than TTL. Default DefaultMargin.
	Margin time.Duration
	// Size bounds the tokens kept. Default DefaultCacheSize.
	Size int
	// Redis, when set, shares the tokens with the other AppViews using it
	// (shared.go): a token minted by one is used by all until Margin before
	// it expires. nil keeps them in this process only.
	Redis redis.UniversalClient
	// RedisKey starts this cache's keys, e.g. "atcr:stok:oauth:" (one per
	// kind of session: their tokens are not interchangeable). Required
	// with Redis.
	RedisKey string
}

// Cache mints service tokens and keeps them until shortly before they
// expire. It is safe for concurrent use.
type Cache struct {
	client      ClientFunc
	now         func() time.Time
	ttl, margin time.Duration
	tokens      *lru.Cache[key, token]
	minting     singleflight.Group
	shared      *sharedTokens // nil without Redis
}

// key identifies a cached token.
type key struct {
	did, aud syntax.DID
	lxm      syntax.NSID
}

func (k key) String() string { return k.did.String() + " " + k.aud.String() + " " + k.lxm.String() }

type token struct {
	value   string
	expires time.Time
}

// New returns a Cache. It fails when Client is nil or Margin is not
// shorter than TTL (after defaults).
func New(opts Options) (*Cache, error) {
	if opts.Client == nil {
		return nil, errors.New("servicetoken: Options.Client is required")
	}
	c := &Cache{client: opts.Client, now: opts.Now, ttl: opts.TTL, margin: opts.Margin}
	if c.now == nil {
		c.now = time.Now
	}
	if c.ttl <= 0 {
		c.ttl = DefaultTTL
	}
	if c.margin <= 0 {
		c.margin = DefaultMargin
	}
	if opts.Redis != nil {
		if opts.RedisKey == "" {
			return nil, errors.New("servicetoken: Options.RedisKey is required with Redis")
		}
		c.shared = &sharedTokens{rdb: opts.Redis, prefix: opts.RedisKey}
	}
	if c.margin >= c.ttl {
		return nil, fmt.Errorf("servicetoken: margin %s must be shorter than TTL %s", c.margin, c.ttl)
	}
	size := opts.Size
	if size <= 0 {
		size = DefaultCacheSize
	}
	var err error
	if c.tokens, err = lru.New[key, token](size); err != nil {
		return nil, fmt.Errorf("servicetoken: cache: %w", err)
	}
	return c, nil
}

// Token returns a service token minted by did's PDS for calling method
// lxm on the service aud. lxm is required: a token bound to a method is the
// narrowest the PDS issues. A PDS refusal is returned wrapped, with the
// *atclient.APIError inside for errors.As.
func (c *Cache) Token(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error) {
	if lxm == "" {
		return "", fmt.Errorf("service token for %s to %s: lxm is required", did, aud)
	}
	k := key{did: did, aud: aud, lxm: lxm}
	if tok, ok := c.cached(k); ok {
		return tok, nil
	}
	ch := c.minting.DoChan(k.String(), func() (any, error) {
		if tok, ok := c.cached(k); ok {
			return tok, nil
		}
		if tok, ok := c.fromShared(ctx, k); ok {
			return tok, nil
		}
		// Detached: the token serves every caller waiting on this flight,
		// not only the one whose request started it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mintTimeout)
		defer cancel()
		return c.mint(ctx, k)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("service token for %s to %s: %w", did, aud, ctx.Err())
	}
}

func (c *Cache) cached(k key) (string, bool) {
	tok, ok := c.tokens.Get(k)
	if !ok || !c.now().Before(tok.expires.Add(-c.margin)) {
		return "", false
	}
	return tok.value, true
}

// mint asks the PDS for a token and caches it.
func (c *Cache) mint(ctx context.Context, k key) (string, error) {
	api, err := c.client(ctx, k.did)
	if err != nil {
		return "", err
	}
	exp := c.now().Add(c.ttl)
	params := map[string]any{"aud": k.aud.String(), "lxm": k.lxm.String(), "exp": exp.Unix()}
	var out struct {
		Token string `json:"token"`
	}
	err = api.Get(ctx, getServiceAuth, params, &out)
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) && apiErr.Name == "BadExpiration" {
		// Our clock and the PDS's disagree by more than the margin the PDS
		// allows; its default lifetime is always acceptable.
		delete(params, "exp")
		exp = c.now().Add(pdsDefaultLifetime)
		err = api.Get(ctx, getServiceAuth, params, &out)
	}
	if err != nil {
		return "", fmt.Errorf("getServiceAuth for %s (aud %s, lxm %s): %w", k.did, k.aud, k.lxm, err)
	}
	if out.Token == "" {
		return "", fmt.Errorf("getServiceAuth for %s (aud %s, lxm %s): empty token", k.did, k.aud, k.lxm)
	}
	// The token's own exp wins when it is earlier than what we asked for.
	if tokExp := Expiry(out.Token); !tokExp.IsZero() && tokExp.Before(exp) {
		exp = tokExp
	}
	c.tokens.Add(k, token{value: out.Token, expires: exp})
	c.toShared(ctx, k, token{value: out.Token, expires: exp})
	return out.Token, nil
}
