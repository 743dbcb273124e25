package main

import (
	"context"
	"log/slog"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/crew"
	"atcr.io/pkg/hold/holdoci"
)

// openBlobXRPC builds holdoci over the S3 service and the repository, with
// members as its Authorizer, Quota and Captain, dir and the guarded client
// to reach users' PDSes, and starts its expiry sweeper (stopped by Close).
// Upload sessions live in <data_dir>/uploads.sqlite. scans (nil when
// scanning is off) is handed every verified manifest.
func openBlobXRPC(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig, repo *repository,
	storage *blobStorage, members *crew.Service, dir identity.Directory, scans holdoci.ScanHook) (*holdoci.Handlers, error) {
	pdsClient, err := guardedClient(cfg)
	if err != nil {
		return nil, err
	}
	h, err := holdoci.New(holdoci.Options{
		S3:                    storage.svc,
		Staging:               storage.staging(),
		PDS:                   repo.PDS,
		Layers:                repo.layers,
		DataDir:               cfg.Server.DataDir,
		SessionTTL:            cfg.Uploads.SessionTTL,
		EmptySessionTTL:       cfg.Uploads.EmptySessionTTL,
		MaxSessionsPerUser:    cfg.Uploads.MaxSessionsPerUser,
		MaxStagedBytesPerUser: int64(cfg.Uploads.MaxStagedMiBPerUser) << 20,
		PartIdleTimeout:       cfg.Uploads.PartIdleTimeout,
		PostsPerUserPerHour:   cfg.Registration.PostsPerUserHour,
		// The embedded server's objects are local files a crash can tear:
		// a re-push reads the stored copy back and repairs it.
		RehashExisting: storage.embedded != nil,
		PresignTTL:     cfg.Storage.PresignTTL,
		Authorizer:     members,
		Quota:          members,
		Captain:        members,
		Identity:       dir,
		PDSClient:      pdsClient,
		Scans:          scans,
		Logger:         logger,
	})
	if err != nil {
		return nil, err
	}
	h.Start(ctx)
	return h, nil
}
