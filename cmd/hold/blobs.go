package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/crew"
	"atcr.io/pkg/hold/holdoci"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/hold/server"
)

// blobXRPC is what pkg/hold/holdoci contributes to the router: the upload
// methods (initiateUpload, getPartUploadUrl, uploadPart, completeUpload,
// abortUpload, notifyManifest, notifyManifestDeleted; mandatory service
// auth, holdoci checks permissions itself), the OCI-digest getBlob
// handler, and a close function that stops its session sweeper and closes
// its session database.
type blobXRPC struct {
	routes  []server.Route
	getBlob http.Handler
	close   func() error
}

// openBlobXRPC builds holdoci over the S3 service and the repository, with
// members as its Authorizer, Quota and Captain, dir and the guarded client
// to reach users' PDSes, and starts its expiry sweeper (stopped by close).
// Upload sessions live in <data_dir>/uploads.sqlite.
func openBlobXRPC(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig, p *pds.PDS,
	storage *blobStorage, members *crew.Service, dir identity.Directory) (*blobXRPC, error) {
	h, err := holdoci.New(holdoci.Options{
		S3:         storage.svc,
		Staging:    storage.staging(),
		PDS:        p,
		DataDir:    cfg.Server.DataDir,
		SessionTTL: cfg.Uploads.SessionTTL,
		PresignTTL: cfg.Storage.PresignTTL,
		Authorizer: members,
		Quota:      members,
		Captain:    members,
		Identity:   dir,
		PDSClient:  guardedClient(cfg),
		Logger:     logger,
	})
	if err != nil {
		return nil, err
	}
	h.Start(ctx)
	b := &blobXRPC{getBlob: http.HandlerFunc(h.GetBlob), close: h.Close}
	for _, rt := range h.Routes() {
		if rt.Auth != holdoci.AuthMandatory {
			continue // getBlob: the router dispatches OCI digests to GetBlob
		}
		b.routes = append(b.routes, server.Route{Method: rt.Method, NSID: rt.NSID, Auth: server.ServiceAuth, Handler: rt.Handler})
	}
	return b, nil
}
