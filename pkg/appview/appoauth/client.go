package appoauth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/version"
)

// Paths, relative to the base URL, that the client's identity depends on.
const (
	MetadataPath = "/oauth-client-metadata.json"
	JWKSPath     = "/oauth/jwks.json"
	CallbackPath = "/auth/oauth/callback"
)

// DefaultRefreshMargin applies when Options.RefreshMargin is zero.
const DefaultRefreshMargin = 2 * time.Minute

// Options configures New.
type Options struct {
	// BaseURL is the AppView's public origin (server.base_url). The client
	// ID is BaseURL+MetadataPath and the redirect URI BaseURL+CallbackPath.
	BaseURL string
	// ClientName is shown on the PDS's consent page (oauth.client_name).
	ClientName string
	// Scopes is the list to request, from ResolveScopes.
	Scopes []string
	// Loopback makes a public loopback client (indigo's
	// NewLocalhostConfig) instead of a confidential one: for
	// insecure_local_dev, where BaseURL is http://127.0.0.1:port and no PDS
	// could fetch client metadata from it.
	Loopback bool
	// DataDir holds oauth/client-key.mb, the confidential client's key.
	DataDir string
	// DB is the AppView database (migration 0003 applied).
	DB *sql.DB
	// HTTPClient is the guarded client (pkg/atproto/safehttp) for every
	// request: OAuth documents, PAR, tokens and the PDS API. It replaces
	// indigo's defaults, whose resolver refuses private addresses outright
	// and whose API client is http.DefaultClient.
	HTTPClient *http.Client
	// Directory resolves handles and DIDs (pkg/atproto/directory), in place
	// of indigo's DefaultDirectory (plc.directory, DNS).
	Directory identity.Directory
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
	// RefreshMargin: an access token expiring within it is refreshed before
	// use. Default 2m.
	RefreshMargin time.Duration
	// Lock serialises the token refreshes of one account across the
	// AppViews sharing the database (db.DB.Lock); nil locks nothing beyond
	// this process, which is enough for one AppView.
	Lock func(ctx context.Context, name string) (unlock func(), err error)
}

// Client is the AppView's ATProto OAuth client: it runs logins (StartLogin,
// FinishLogin), serves its metadata and keys, and hands out PDS clients
// made from the stored OAuth sessions (APIClient), through which
// pkg/appview/actas acts as the user, service tokens included.
type Client struct {
	app    *indigooauth.ClientApp
	store  *Store
	scopes []string
	log    *slog.Logger
	now    func() time.Time
	margin time.Duration
	lock   func(ctx context.Context, name string) (func(), error)

	metadata []byte // the client metadata document, or nil for a loopback client
	jwks     []byte

	liveMu sync.Mutex
	live   map[syntax.DID]*liveSession
}

// New builds the client, creating the confidential client key on first
// start, and drops stored sessions whose scopes no longer match the
// configured ones.
func New(ctx context.Context, opts Options) (*Client, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	c := &Client{
		store:  NewStore(opts.DB, opts.Now),
		scopes: slices.Clone(opts.Scopes),
		log:    opts.Logger,
		now:    opts.Now,
		margin: opts.RefreshMargin,
		lock:   opts.Lock,
		live:   map[syntax.DID]*liveSession{},
	}
	if c.lock == nil {
		c.lock = func(context.Context, string) (func(), error) { return func() {}, nil }
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	var cfg indigooauth.ClientConfig
	if opts.Loopback {
		cfg = indigooauth.NewLocalhostConfig(base+CallbackPath, c.scopes)
	} else {
		cfg = indigooauth.NewPublicConfig(base+MetadataPath, base+CallbackPath, c.scopes)
		key, err := loadOrCreateClientKey(filepath.Join(opts.DataDir, "oauth", clientKeyFile), c.log)
		if err != nil {
			return nil, err
		}
		kid, err := keyID(key)
		if err != nil {
			return nil, err
		}
		if err := cfg.SetClientSecret(key, kid); err != nil {
			return nil, fmt.Errorf("oauth: client key: %w", err)
		}
	}
	cfg.UserAgent = "atcr-appview/" + version.String()
	c.app = indigooauth.NewClientApp(&cfg, c.store)
	c.app.Client = opts.HTTPClient
	c.app.Resolver.Client = opts.HTTPClient
	c.app.Dir = opts.Directory
	if err := c.buildDocuments(base, opts.ClientName); err != nil {
		return nil, err
	}
	if err := c.dropMismatchedSessions(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (o *Options) check() error {
	var errs []error
	u, err := url.Parse(o.BaseURL)
	if o.BaseURL == "" || err != nil || u.Host == "" || (u.Scheme != "https" && !(o.Loopback && u.Scheme == "http")) {
		errs = append(errs, fmt.Errorf("BaseURL %q must be an https origin (http only for a loopback client)", o.BaseURL))
	}
	if len(o.Scopes) == 0 || !slices.Contains(o.Scopes, ScopeAtproto) {
		errs = append(errs, fmt.Errorf("Scopes must include %q (use ResolveScopes)", ScopeAtproto))
	}
	if o.DB == nil || o.HTTPClient == nil || o.Directory == nil {
		errs = append(errs, errors.New("DB, HTTPClient and Directory are required"))
	}
	if !o.Loopback && o.DataDir == "" {
		errs = append(errs, errors.New("DataDir is required for a confidential client"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("oauth options: %w", errors.Join(errs...))
	}
	if o.ClientName == "" {
		o.ClientName = "ATCR"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RefreshMargin <= 0 {
		o.RefreshMargin = DefaultRefreshMargin
	}
	return nil
}

// buildDocuments renders the client metadata and JWKS once: they only
// change with the configuration.
func (c *Client) buildDocuments(base, clientName string) error {
	jwks, err := json.Marshal(c.app.Config.PublicJWKS())
	if err != nil {
		return fmt.Errorf("oauth: encode JWKS: %w", err)
	}
	c.jwks = jwks
	if !c.app.Config.IsConfidential() {
		return nil // a loopback client_id is its own metadata
	}
	meta := c.app.Config.ClientMetadata()
	jwksURI := base + JWKSPath
	meta.JWKSURI = &jwksURI
	meta.ClientName = &clientName
	meta.ClientURI = &base
	if err := meta.Validate(c.app.Config.ClientID); err != nil {
		return fmt.Errorf("oauth: client metadata: %w", err)
	}
	if c.metadata, err = json.Marshal(meta); err != nil {
		return fmt.Errorf("oauth: encode client metadata: %w", err)
	}
	return nil
}

// dropMismatchedSessions deletes every stored session that was requested
// with other scopes than the configured ones, or whose grant lacks one of
// them, so that a changed oauth.scopes takes effect at the next login
// instead of leaving sessions that fail on use.
func (c *Client) dropMismatchedSessions(ctx context.Context) error {
	all, err := c.store.allSessionScopes(ctx)
	if err != nil {
		return fmt.Errorf("oauth: check stored sessions: %w", err)
	}
	dropped := 0
	for _, s := range all {
		if SameScopes(s.Requested, c.scopes) && ScopesCover(c.scopes, s.Granted) {
			continue
		}
		if err := c.store.DeleteSession(ctx, s.DID, s.SessionID); err != nil {
			return fmt.Errorf("oauth: %w", err)
		}
		dropped++
	}
	if dropped > 0 {
		c.log.InfoContext(ctx, "oauth: dropped sessions whose scopes differ from oauth.scopes; those users log in again",
			"dropped", dropped, "kept", len(all)-dropped)
	}
	return nil
}

// ClientID returns the OAuth client_id.
func (c *Client) ClientID() string { return c.app.Config.ClientID }

// MetadataHandler serves the client metadata document (GET
// /oauth-client-metadata.json); a loopback client has none (404).
func (c *Client) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.metadata == nil {
			http.Error(w, "this AppView runs a loopback OAuth client, which has no metadata document", http.StatusNotFound)
			return
		}
		writeDocument(w, c.metadata)
	})
}

// JWKSHandler serves the public client keys (GET /oauth/jwks.json).
func (c *Client) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeDocument(w, c.jwks) })
}

func writeDocument(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// The PDS caches these for 10 minutes itself; a short public cache is harmless.
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(body)
}
