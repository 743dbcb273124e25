package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"

	"atcr.io/internal/clientaddr"
	"atcr.io/pkg/appview/actas"
	"atcr.io/pkg/appview/appoauth"
	"atcr.io/pkg/appview/apppassword"
	"atcr.io/pkg/appview/auth"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/devices"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/ui"
	"atcr.io/pkg/config"
)

// webDeps is what the web front end (OAuth, device flow, UI) takes from
// runServe.
type webDeps struct {
	// Redis is the state the cluster's AppViews share (redis.url); nil:
	// none. The failed-login counters live there.
	Redis redis.UniversalClient
	// DB is the AppView database; the tables of OAuth sessions, browser
	// sessions and devices come from its migrations 0003-0005.
	DB *db.DB
	// Directory is the shared identity directory (pkg/atproto/directory).
	Directory identity.Directory
	// HTTPClient is the guarded client (safehttp, with
	// identity.allow_private_networks) for every OAuth and PDS request.
	HTTPClient *http.Client
	// AppPasswords keeps the app-password sessions that the token endpoint
	// creates (auth.Options.AppPasswords must be the same instance).
	AppPasswords *apppassword.Provider
	// Repositories feeds the UI's user and repository pages
	// (*browse.Service); nil leaves those pages out.
	Repositories ui.Repositories
	// Scans feeds the vulnerability badges (*scans.Service); nil leaves
	// them out.
	Scans ui.Scans
	// ClientAddrs finds a request's client address (server.trusted_proxies)
	// for device requests and device-secret throttling; nil trusts loopback.
	ClientAddrs *clientaddr.Resolver
	// Index is the UI index (pkg/appview/index): the home feed, search and
	// the pages of what it knows; nil leaves the UI reading PDSes only.
	Index *index.Store
	// Stars writes a user's io.atcr.sailor.star records (the actas.Chooser
	// runServe builds after webRoutes: see lateClients); nil hides the star
	// button.
	Stars ui.PDSClients
	// PushHolds is the push path's cache of push holds (the storage.Store
	// runServe builds after webRoutes: see latePushHolds), told when a user
	// changes their default hold on /settings.
	PushHolds ui.PushHoldCache
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// webRoutes builds the OAuth client, the device flow and the web UI.
//
//   - mount adds their routes to the AppView's router: the client metadata
//     and JWKS, POST /auth/device/code and /auth/device/token, and the UI
//     pages (with ui.enabled false only the two OAuth documents).
//   - oauthClient holds the users' OAuth sessions: one of the two sources
//     of the actas.Chooser runServe builds.
//   - credential is the token endpoint's verifier (auth.Options.Verifier):
//     device secrets, then app passwords behind the usual cache. The device
//     check is outside the app-password cache and keeps its own, of bcrypt
//     matches only, so a revoked device fails at once.
func webRoutes(ctx context.Context, cfg *config.AppViewConfig, d webDeps) (mount func(chi.Router), oauthClient *appoauth.Client, credential auth.CredentialVerifier, err error) {
	if d.DB == nil || d.Directory == nil || d.HTTPClient == nil || d.AppPasswords == nil {
		return nil, nil, nil, errors.New("web: DB, Directory, HTTPClient and AppPasswords are required")
	}
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	scopes, err := appoauth.ResolveScopes(cfg.OAuth.Scopes, cfg.OAuth.FallbackGeneric)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("oauth.scopes: %w", err)
	}
	pool := d.DB.SQL()
	fail := func(err error) (func(chi.Router), *appoauth.Client, auth.CredentialVerifier, error) {
		return nil, nil, nil, err
	}
	oauthClient, err = appoauth.New(ctx, appoauth.Options{
		BaseURL:    cfg.Server.BaseURL,
		ClientName: cfg.OAuth.ClientName,
		Scopes:     scopes,
		// insecure_local_dev: http://127.0.0.1 cannot serve client metadata
		// a PDS would fetch, so it is indigo's loopback public client.
		Loopback: cfg.InsecureLocalDev,
		DataDir:  cfg.Server.DataDir,
		DB:       pool,
		// AppViews sharing a PostgreSQL database refresh an account's
		// tokens one at a time.
		Lock:       d.DB.Lock,
		HTTPClient: d.HTTPClient,
		Directory:  d.Directory,
		Logger:     log,
	})
	if err != nil {
		return fail(err)
	}
	appPasswordCheck, err := auth.NewCachingVerifier(auth.NewAppPasswordVerifier(d.Directory, d.AppPasswords), d.Directory, auth.DefaultVerifyCacheTTL, nil)
	if err != nil {
		return fail(err)
	}
	if d.Redis != nil {
		if err := appPasswordCheck.ShareFailures(d.Redis, redisPrefix); err != nil {
			return fail(err)
		}
	}
	deviceFlow, err := devices.New(devices.Options{
		DB:          pool,
		BaseURL:     cfg.Server.BaseURL,
		ServiceName: cfg.ServiceName(),
		Directory:   d.Directory,
		Next:        appPasswordCheck,
		ClientAddrs: d.ClientAddrs,
		Redis:       d.Redis,
		RedisPrefix: redisPrefix,
		Logger:      log,
	})
	if err != nil {
		return fail(err)
	}
	var web *ui.UI
	if cfg.UI.Enabled {
		web, err = ui.New(ui.Options{BaseURL: cfg.Server.BaseURL, Registry: cfg.ServiceName(), DB: pool,
			Login: oauthClient, Devices: deviceFlow, Repositories: d.Repositories, Scans: d.Scans,
			Index: d.Index, Stars: d.Stars, ReadmeClient: d.HTTPClient, Directory: d.Directory, Logger: log,
			// The default hold selector writes the sailor profile through
			// the same chooser as stars.
			DefaultHold: cfg.Server.DefaultHoldDID, Profiles: d.Stars, PushHolds: d.PushHolds})
		if err != nil {
			return fail(err)
		}
	}
	mount = func(r chi.Router) {
		r.Get(appoauth.MetadataPath, oauthClient.MetadataHandler().ServeHTTP)
		r.Get(appoauth.JWKSPath, oauthClient.JWKSHandler().ServeHTTP)
		if web == nil {
			return // without the UI nobody could approve a device request
		}
		r.Post(devices.CodePath, deviceFlow.CodeHandler().ServeHTTP)
		r.Post(devices.TokenPath, deviceFlow.TokenHandler().ServeHTTP)
		web.Mount(r)
	}
	log.InfoContext(ctx, "oauth: client ready", "client_id", oauthClient.ClientID(), "scopes", len(scopes), "ui", cfg.UI.Enabled)
	return mount, oauthClient, deviceFlow, nil
}

// lateClients is a ui.PDSClients whose actas.Chooser is set after webRoutes
// returned: the chooser needs the OAuth client webRoutes makes. It is set
// before the server takes its first request.
type lateClients struct{ chooser atomic.Pointer[actas.Chooser] }

func (l *lateClients) Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error) {
	c := l.chooser.Load()
	if c == nil {
		return nil, errors.New("web: acting as a user is not ready yet")
	}
	return c.Client(ctx, did)
}

// latePushHolds is a ui.PushHoldCache whose storage.Store is set after
// webRoutes returned (the store needs the chooser, which needs the OAuth
// client webRoutes makes). Before it is set there is no cached hold to
// forget.
type latePushHolds struct{ store atomic.Pointer[storage.Store] }

func (l *latePushHolds) ForgetPushHold(did syntax.DID) {
	if s := l.store.Load(); s != nil {
		s.ForgetPushHold(did)
	}
}
