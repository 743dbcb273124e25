package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/clientaddr"
	"atcr.io/internal/ratelimit"
	"atcr.io/internal/startup"
	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/crew"
	"atcr.io/pkg/hold/gc"
	"atcr.io/pkg/hold/layerindex"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/s3"
)

// pdsDir is the embedded PDS's directory (signing key, repo.sqlite) under
// the data directory.
func pdsDir(cfg *config.HoldConfig) string { return filepath.Join(cfg.Server.DataDir, "pds") }

// repository is the hold's repository with its layer index.
type repository struct {
	*pds.PDS
	layers *layerindex.Index
}

// openRepo opens (on first start: creates) the hold's repository. Records
// are checked against the io.atcr.* lexicons before every write; the layer
// index is kept beside them (and rebuilt when missing). blobs is where the
// repository's blobs (scan reports, SBOMs) go: the hold's S3; tools that
// write no blobs pass nil.
func openRepo(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig, blobs *s3.S3Service) (*repository, error) {
	layers := layerindex.New()
	p, err := pds.Open(ctx, pds.Options{
		DataDir:   pdsDir(cfg),
		PublicURL: cfg.Server.PublicURL,
		Logger:    logger,
		Validate:  schema.ValidateRecord,
		Indexes:   []pds.Index{layers},
		Blobs:     blobs,
	})
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	return &repository{PDS: p, layers: layers}, nil
}

// openExistingRepo opens the repository for a tool, refusing to create one
// in a data directory that has none (a mistyped --config would otherwise
// export an empty repository).
func openExistingRepo(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig) (*repository, error) {
	db := filepath.Join(pdsDir(cfg), "repo.sqlite")
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no hold repository at %s (check server.data_dir)", db)
	}
	return openRepo(ctx, logger, cfg, nil)
}

// crewSettings turns the registration section into captain settings.
func crewSettings(cfg *config.HoldConfig) crew.Settings {
	r := cfg.Registration
	// config validation has already checked both DIDs' syntax.
	return crew.Settings{
		Owner:              syntax.DID(r.OwnerDID),
		Public:             cfg.Server.Public,
		AllowAllCrew:       r.AllowAllCrew,
		EnableBlueskyPosts: r.EnableBlueskyPosts,
		Region:             r.Region,
		Provider:           r.Provider,
		Successor:          syntax.DID(r.Successor),
	}
}

// openCrew loads the quota tiers and bootstraps the captain and crew.
func openCrew(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig, repo *repository) (*crew.Service, error) {
	tiers, err := crew.LoadTiers(cfg.QuotasFile)
	if err != nil {
		return nil, err
	}
	if tiers == nil {
		logger.Info("No quotas file: storage is unlimited")
	} else {
		logger.Info("Quota tiers loaded", "file", cfg.QuotasFile, "tiers", len(tiers.List()), "default", tiers.Default)
	}
	return crew.New(ctx, repo.PDS, crew.Options{Settings: crewSettings(cfg), Tiers: tiers, Usage: repo.layers, Logger: logger})
}

// guardedClient is the guarded HTTP client for URLs users influence: DID
// documents and handles (the directory) and users' PDSes (holdoci's check
// that a deleted manifest is gone).
func guardedClient(cfg *config.HoldConfig) (*http.Client, error) {
	opts, err := startup.GuardedHTTP(cfg.Identity, cfg.InsecureLocalDev)
	if err != nil {
		return nil, err
	}
	return safehttp.New(opts), nil
}

// newDirectory builds the identity directory that resolves callers' DID
// documents, behind the guarded HTTP client, bounded in bytes, with every
// lookup that leaves the process charged to the client address of the
// request that caused it (limits.identity_lookups_per_minute).
func newDirectory(cfg *config.HoldConfig) (identity.Directory, error) {
	dev := cfg.InsecureLocalDev
	client, err := guardedClient(cfg)
	if err != nil {
		return nil, err
	}
	l := cfg.Limits
	limiter, err := ratelimit.New(ratelimit.Config{
		Rate:    float64(l.IdentityLookupsPerMinute) / 60,
		Burst:   l.IdentityLookupBurst,
		MaxKeys: l.RateLimitClients,
	})
	if err != nil {
		return nil, fmt.Errorf("identity lookup rate limit: %w", err)
	}
	opts := directory.Options{
		PLCURL: cfg.Identity.PLCURL, HTTPClient: client, InsecureLocalDev: dev,
		CacheBytes: int64(l.IdentityCacheMiB) << 20,
		Capacity:   l.IdentityCacheEntries,
		BeforeFetch: ratelimit.Gate(limiter, func(wait time.Duration) error {
			return xrpc.RateLimitExceeded("too many requests needing identity lookups from this address", wait)
		}),
	}
	if dev {
		opts.HandleResolverURL = cfg.Identity.HandleResolverURL
	}
	dir, err := directory.New(opts)
	if err != nil {
		return nil, fmt.Errorf("identity directory: %w", err)
	}
	return dir, nil
}

// newCollector builds the blob garbage collector.
// pins protects the blobs pushes rely on: the running hold's upload
// handlers, or the pin table a stopped hold left.
func newCollector(logger *slog.Logger, cfg *config.HoldConfig, p *pds.PDS, svc *s3.S3Service, pins gc.Pins) (*gc.Collector, error) {
	return gc.New(gc.Config{Records: p, Blobs: svc, Pins: pins, GracePeriod: cfg.GC.GracePeriod, Logger: logger})
}

// clientAddrs reads server.trusted_proxies (validated by config).
func clientAddrs(cfg *config.HoldConfig) (*clientaddr.Resolver, error) {
	r, err := clientaddr.New(cfg.Server.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server.trusted_proxies: %w", err)
	}
	return r, nil
}
