package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/holdoci"
	"atcr.io/pkg/s3"
	"atcr.io/pkg/s3/embedded"
)

// blobStorage is the hold's S3 service and, when no endpoint is configured,
// the embedded server behind it. Both paths end in the same S3Service.
type blobStorage struct {
	svc      *s3.S3Service
	embedded *embedded.Server
}

// openStorage connects to the configured S3 endpoint, or starts the embedded
// S3 server under the data directory when none is configured.
func openStorage(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig) (*blobStorage, error) {
	params := s3.Params(cfg.S3Params())
	st := &blobStorage{}
	if params.Endpoint == "" {
		srv, err := embedded.Start(ctx, embedded.Options{
			DataDir: filepath.Join(cfg.Server.DataDir, "embedded-s3"),
			Addr:    cfg.Storage.EmbeddedAddr,
			Region:  params.Region,
			Bucket:  params.Bucket,
			// MD5 ETags cost the embedded server most of its CPU on every
			// part upload and on the move of each verified blob.
			ChecksumETags: true,
		})
		if err != nil {
			return nil, fmt.Errorf("start embedded s3: %w", err)
		}
		st.embedded = srv
		own := srv.Params()
		params.Endpoint, params.AccessKey, params.SecretKey = own.Endpoint, own.AccessKey, own.SecretKey
		params.Region, params.Bucket, params.PathStyle = own.Region, own.Bucket, true
		logger.Info("Embedded S3 started", "endpoint", params.Endpoint, "bucket", params.Bucket,
			"credentials", filepath.Join(cfg.Server.DataDir, "embedded-s3", "s3-credentials.json"))
	}
	svc, err := s3.New(ctx, params)
	if err != nil {
		st.close(ctx)
		return nil, err
	}
	svc.Logger = logger
	if err := svc.EnsureBucket(ctx); err != nil {
		st.close(ctx)
		return nil, fmt.Errorf("bucket %s at %s: %w", params.Bucket, params.Endpoint, err)
	}
	st.svc = svc
	return st, nil
}

// staging reads back and moves verified uploads: the embedded server reads
// and renames its files, any other S3 is read over HTTP and copies
// server-side.
func (st *blobStorage) staging() holdoci.StagingStore {
	if st.embedded != nil {
		return st.embedded
	}
	return st.svc
}

func (st *blobStorage) close(ctx context.Context) error {
	if st.embedded == nil {
		return nil
	}
	return st.embedded.Stop(ctx)
}
