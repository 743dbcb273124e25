package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"atcr.io/internal/clientaddr"
	"atcr.io/internal/ratelimit"
	"atcr.io/internal/serve"
	"atcr.io/internal/startup"
	"atcr.io/pkg/appview/actas"
	"atcr.io/pkg/appview/apppassword"
	"atcr.io/pkg/appview/auth"
	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/scans"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/config"
	"atcr.io/pkg/logging"
	"atcr.io/pkg/version"
)

// dbFile is the AppView database under server.data_dir.
const dbFile = "appview.db"

// directoryOptions is the identity directory of cfg over the guarded
// client, shared by serve and the index commands.
func directoryOptions(cfg *config.AppViewConfig, httpClient *http.Client) directory.Options {
	return directory.Options{
		PLCURL:            cfg.Identity.PLCURL,
		HTTPClient:        httpClient,
		InsecureLocalDev:  cfg.InsecureLocalDev,
		HandleResolverURL: cfg.Identity.HandleResolverURL,
		CacheBytes:        int64(cfg.Cache.IdentityBytes),
		Capacity:          cfg.Cache.IdentityEntries,
	}
}

// runServe runs the AppView until SIGTERM or SIGINT.
func runServe(ctx context.Context, cfg *config.AppViewConfig) error {
	ctx, stop := startup.SignalContext(ctx)
	defer stop()
	logger, err := startup.Logger(ctx, cfg.Log)
	if err != nil {
		return err
	}
	dataDir, err := filepath.Abs(cfg.Server.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	cfg.Server.DataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	logger.Info("Starting atcr-appview", "version", version.String(), "base_url", cfg.Server.BaseURL,
		"service", cfg.ServiceName(), "default_hold", cfg.Server.DefaultHoldDID, "insecure_local_dev", cfg.InsecureLocalDev)

	// One guarded client for every fetch of a user-supplied URL.
	httpOpts, err := startup.GuardedHTTP(cfg.Identity, cfg.InsecureLocalDev)
	if err != nil {
		return err
	}
	httpOpts.UserAgent = "atcr-appview/" + version.String()
	startup.WarnDeprecatedIdentity(logger, cfg.Identity, cfg.InsecureLocalDev)
	httpClient := safehttp.New(httpOpts)
	// Who a request comes from, behind Caddy: login throttling and the
	// identity-lookup limit count per client address.
	clientAddrs, err := clientaddr.New(cfg.Server.TrustedProxies)
	if err != nil {
		return fmt.Errorf("server.trusted_proxies: %w", err)
	}
	// State the AppViews of a cluster share; nil keeps it in this process.
	rdb, err := openRedis(ctx, cfg.Redis.URL, logger)
	if err != nil {
		return err
	}
	if rdb != nil {
		defer rdb.Close()
	}

	lookups, err := ratelimit.New(ratelimit.Config{
		Rate:    float64(cfg.Limits.IdentityLookupsPerMinute) / 60,
		Burst:   cfg.Limits.IdentityLookupBurst,
		MaxKeys: cfg.Limits.RateLimitClients,
		// One budget per client across the cluster's AppViews.
		Redis: redisOrNil(rdb), RedisKey: redisPrefix + "rl:lookups:",
	})
	if err != nil {
		return fmt.Errorf("identity lookup rate limit: %w", err)
	}
	dirOpts := directoryOptions(cfg, httpClient)
	// Every lookup a request causes that leaves the process (a name nobody
	// asked for lately) is charged to its client address: any anonymous
	// client can ask for any name.
	dirOpts.BeforeFetch = ratelimit.Gate(lookups, nil)
	dir, err := directory.New(dirOpts)
	if err != nil {
		return fmt.Errorf("identity directory: %w", err)
	}

	database, err := db.OpenConfigured(ctx, cfg.Database.URL, filepath.Join(dataDir, dbFile))
	if err != nil {
		return err
	}
	defer database.Close()
	// The UI index lives in the same database; it is closed (its pending
	// writes flushed) before the database.
	ix, err := openIndex(cfg, database, logger, backfillDeps{Directory: dir, HTTPClient: httpClient})
	if err != nil {
		return err
	}
	defer func() {
		stop() // serve.Run also returns on a listener error: end the consumer too
		ix.close(ctx)
	}()
	appPasswords, err := apppassword.New(apppassword.Options{DB: database, HTTPClient: httpClient, Logger: logger})
	if err != nil {
		return err
	}

	// The UI's repository pages read users' records from their PDSes
	// themselves (anonymously, like pulls), not through the registry.
	repos, err := browse.New(browse.Options{
		Directory: dir, HTTP: httpOpts, Logger: logger,
		MaxListingBytes: int64(cfg.Cache.UIAccountBytes), MaxCachedBytes: int64(cfg.Cache.UIBytes),
	})
	if err != nil {
		return err
	}
	// The vulnerability badges read the scan records of the hold each
	// manifest record names (anonymously: scan records are public).
	var locate scans.Manifests = repos
	if ix.Store != nil {
		locate = indexFirstLocator{idx: ix.Store, dir: dir, next: repos}
	}
	scanViews, err := scans.New(scans.Options{
		Manifests: locate, Directory: dir, HTTP: httpOpts, Logger: logger,
		CacheBytes: int64(cfg.Cache.ScanBytes), MaxReportBytes: int64(cfg.UI.ScanReportBytes),
	})
	if err != nil {
		return err
	}
	stars, pushHolds := &lateClients{}, &latePushHolds{}
	webMount, oauthClient, credentials, err := webRoutes(ctx, cfg, webDeps{
		Redis: redisOrNil(rdb), DB: database, Directory: dir, HTTPClient: httpClient, AppPasswords: appPasswords, Repositories: repos,
		Scans: scanViews, ClientAddrs: clientAddrs, Index: ix.Store, Stars: stars, PushHolds: pushHolds, Logger: logger,
	})
	if err != nil {
		return err
	}
	// The one decision of how the AppView acts as a user at their PDS (PDS
	// clients, service tokens for holds): the OAuth session first, the
	// app-password session second.
	actAs, err := actas.New(actas.Options{OAuth: oauthClient.APIClient, AppPassword: appPasswords.Client,
		Redis: redisOrNil(rdb), RedisPrefix: redisPrefix, Logger: logger})
	if err != nil {
		return err
	}
	stars.chooser.Store(actAs)

	authSvc, err := auth.New(auth.Options{
		BaseURL:        cfg.Server.BaseURL,
		ServiceName:    cfg.ServiceName(),
		TokenTTL:       cfg.Auth.TokenTTL,
		DataDir:        dataDir,
		DefaultHoldDID: cfg.Server.DefaultHoldDID,
		Directory:      dir,
		HTTPClient:     httpClient,
		DB:             database,
		AppPasswords:   appPasswords,
		Clients:        actAs,
		Verifier:       credentials,
		ClientAddrs:    clientAddrs,
		Logger:         logger,
	})
	if err != nil {
		return err
	}
	store, err := storage.New(storage.Options{
		Directory:    dir,
		ActAs:        actAs,
		NoSessionErr: actas.ErrNoSession,
		DefaultHold:  syntax.DID(cfg.Server.DefaultHoldDID),
		Tombstones:   database, // blob DELETE unlinks, kept across restarts
		Indexer:      ix.Store, // a push shows on the pages at once
		Successors:   ix.Store, // a retired hold's pushes go to its successor
		IndexHints:   ix.Store, // manifests of accounts past the repository index bound
		HTTP:         httpOpts,
		Logger:       logger,

		PartSize:                int(cfg.Uploads.PartSize),
		MaxBufferedBytes:        int64(cfg.Uploads.Memory),
		MaxBufferedBytesPerUser: int64(cfg.Uploads.MemoryPerUser),
		PartWait:                cfg.Uploads.PartWait,
		UploadTTL:               cfg.Uploads.SessionTTL,
		MaxUploads:              cfg.Uploads.MaxSessions,
		MaxUploadsPerUser:       cfg.Uploads.MaxPerUser,
		MaxParkedBytesPerUser:   int64(cfg.Uploads.ParkedPerUser),
		Redis:                   redisOrNil(rdb),

		ManifestCacheBytes: int64(cfg.Cache.ManifestBytes),
		LookupCacheBytes:   int64(cfg.Cache.LookupBytes),
		IndexBytes:         int64(cfg.Cache.IndexBytes),
		IndexAccountBytes:  int64(cfg.Cache.IndexAccountBytes),
		IndexLoads:         cfg.Cache.IndexLoads,
	})
	if err != nil {
		return err
	}
	pushHolds.store.Store(store)
	reg, err := registry.New(registry.Options{
		Controller: authSvc.Controller(),
		Resolver:   store, Manifests: store, Tags: store, Referrers: store, Catalog: store,
		Blobs: store, Uploads: store,
		BaseURL:         cfg.Server.BaseURL,
		BodyIdleTimeout: cfg.Uploads.BodyIdleTimeout,
		Pulls:           ix.Store,
		Logger:          logger,
	})
	if err != nil {
		return err
	}

	r := chi.NewRouter()
	r.Use(middleware.Recoverer, logging.Middleware(logger), ratelimit.ClientMiddleware(clientAddrs))
	r.Get(healthPath, ix.healthHandler())
	r.Handle("/auth/token", authSvc.TokenHandler())
	// The registry parses the escaped path itself (names contain slashes
	// and did:web ports arrive as %3A), so it gets every /v2 request.
	r.Handle("/v2", reg)
	r.Handle("/v2/*", reg)
	webMount(r)

	ln, err := serve.Listen(ctx, cfg.Server.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		// No read or write deadline: a PATCH of a multi-GiB layer streams for
		// as long as the client sends. Idle keep-alive connections are closed.
		IdleTimeout: 2 * time.Minute,
	}
	// When shutdown begins, chunks waiting for upload memory give up at
	// once; requests already streaming get the shutdown grace period.
	stopDrain := context.AfterFunc(ctx, store.Drain)
	defer stopDrain()
	ix.start(ctx)
	runErr := serve.RunWith(ctx, logger, srv, ln, serve.Options{
		Grace:      cfg.Server.ShutdownTimeout,
		Drain:      cfg.Server.ShutdownDrain,
		HealthPath: healthPath,
	})
	// Aborting the open upload sessions is courtesy (the holds expire them
	// anyway), so it gets a short, bounded time of its own.
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), uploadCloseTimeout)
	defer cancel()
	if err := store.Close(closeCtx); err != nil {
		logger.Warn("Upload sessions not closed cleanly", "err", err)
	}
	return runErr
}

// healthPath is the liveness check; it answers 503 while the AppView drains
// at shutdown (serve.Options).
const healthPath = "/health"

// uploadCloseTimeout bounds the abort of open upload sessions at shutdown.
const uploadCloseTimeout = 3 * time.Second
