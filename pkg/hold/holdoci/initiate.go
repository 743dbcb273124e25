package holdoci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// datetimeLayout is the ATProto datetime form used in outputs and records.
const datetimeLayout = "2006-01-02T15:04:05.000Z"

func formatDatetime(t time.Time) string { return t.UTC().Format(datetimeLayout) }

// InitiateUpload serves io.atcr.hold.initiateUpload: it starts an S3
// multipart upload at the session's staging key and records the session.
func (h *Handlers) InitiateUpload(w http.ResponseWriter, r *http.Request) {
	out, err := h.initiateUpload(w, r)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	h.writeOK(w, out)
}

func (h *Handlers) initiateUpload(w http.ResponseWriter, r *http.Request) (*atcr.HoldInitiateUpload_Output, error) {
	ctx := r.Context()
	caller, err := h.writer(ctx)
	if err != nil {
		return nil, err
	}
	var in atcr.HoldInitiateUpload_Input
	if err := decodeInput(w, r, atcr.HoldInitiateUploadNSID, &in); err != nil {
		return nil, err
	}
	var expected string
	if in.Digest != "" {
		d, err := oci.ParseDigest(in.Digest)
		if err != nil {
			return nil, errInvalidDigest("%s", err.Error())
		}
		expected = d.String()
	}
	// A user already over quota cannot start new uploads; the real check of
	// what a push adds happens at notifyManifest, once the blobs are known.
	if h.quota != nil {
		if _, _, err := h.quota.CheckQuota(ctx, caller, 0); err != nil {
			return nil, err
		}
	}
	// Bound what one user can hold open: every session is an S3 multipart
	// upload. Empty ones expire after EmptySessionTTL, so the wait is short.
	if open, err := h.sessions.openSessions(ctx, caller, h.now()); err != nil {
		return nil, err
	} else if open >= h.maxSessions {
		return nil, xrpc.RateLimitExceeded(fmt.Sprintf(
			"%d upload sessions are open for this user, the limit is %d: complete or abort some", open, h.maxSessions), h.emptyTTL)
	}
	id := newSessionID()
	key, err := s3.UploadKey(id)
	if err != nil {
		return nil, err
	}
	sctx, cancel := storageCtx(ctx)
	defer cancel()
	s3UploadID, err := h.s3.CreateMultipartUpload(sctx, key)
	if err != nil {
		h.log.Error("create multipart upload", "upload", id, "err", err)
		return nil, errStorage("start the upload")
	}
	now := h.now()
	sess := session{
		ID: id, S3UploadID: s3UploadID, Owner: caller, ExpectedDigest: expected,
		// Without parts a session lives EmptySessionTTL; its first part
		// extends it to SessionTTL (sessionStore.addPart).
		Created: now, Expires: now.Add(h.emptyTTL),
	}
	if err := h.sessions.insert(ctx, sess); err != nil {
		// Without a session nobody could ever complete or sweep it.
		if abortErr := h.s3.AbortMultipartUpload(context.WithoutCancel(ctx), key, s3UploadID); abortErr != nil {
			err = errors.Join(err, abortErr)
		}
		return nil, err
	}
	h.log.Debug("upload started", "upload", id, "owner", caller)
	return &atcr.HoldInitiateUpload_Output{UploadID: id, ExpiresAt: formatDatetime(sess.Expires)}, nil
}
