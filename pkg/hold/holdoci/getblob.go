package holdoci

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// GetBlob serves com.atproto.sync.getBlob when cid is an OCI digest (the
// hold's router sends it those requests only). GET
// answers 307 to a presigned GET of the blob (through the pull zone when one
// is configured); HEAD answers 200 with the size and digest and no redirect,
// since a presigned URL is bound to one method. The caller (optional service
// auth) must pass Authorizer.CanRead; a missing blob is 404 BlobNotFound.
// A HEAD by a caller who may write pins the blob against garbage
// collection (pins.go): that is how a push's existence check and a
// cross-repo mount reach the hold.
func (h *Handlers) GetBlob(w http.ResponseWriter, r *http.Request) {
	if err := h.getBlob(w, r); err != nil {
		xrpc.WriteError(w, err)
	}
}

func (h *Handlers) getBlob(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	if did := q.Get("did"); did != h.pds.DID().String() {
		return pds.RepoNotFound(did)
	}
	digest, err := oci.ParseDigest(q.Get("cid"))
	if err != nil {
		return xrpc.InvalidRequest("cid: " + err.Error())
	}
	caller, _ := serviceauth.CallerDID(ctx) // "" for anonymous callers
	if err := h.auth.CanRead(ctx, caller); err != nil {
		return err
	}
	key := s3.BlobKey(digest)
	// A HEAD by someone who may push is a push (or a cross-repo mount)
	// finding the blob present and skipping its upload: pin it, under the
	// blob guard, so garbage collection cannot delete it before the
	// manifest that needs it is announced.
	pinning := r.Method == http.MethodHead && caller != "" && h.auth.CanWrite(ctx, caller) == nil
	if pinning {
		release := h.guard.share()
		defer release()
	}
	// Stat on GET too: a client must get the registry's 404, not S3's XML
	// error behind a redirect.
	sctx, cancel := storageCtx(ctx)
	defer cancel()
	info, err := h.s3.Stat(sctx, key)
	if errors.Is(err, s3.ErrNotFound) {
		return errBlobNotFound(http.StatusNotFound, digest.String())
	}
	if err != nil {
		h.log.Error("stat blob", "digest", digest, "err", err)
		return errStorage("look up the blob")
	}
	if pinning {
		if err := h.pinBlob(ctx, digest.String()); err != nil {
			h.log.Error("pin blob", "digest", digest, "err", err)
			return xrpc.NewError(http.StatusServiceUnavailable, "ServiceUnavailable", "the hold could not record the blob's use").
				WithRetryAfter(storageRetryAfter)
		}
	}
	hdr := w.Header()
	if r.Method == http.MethodHead {
		hdr.Set("Content-Type", "application/octet-stream")
		hdr.Set("Content-Length", strconv.FormatInt(info.Size, 10))
		hdr.Set("Docker-Content-Digest", digest.String())
		hdr.Set("ETag", `"`+digest.String()+`"`)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	location, err := h.s3.PresignGet(ctx, key, h.presignTTL)
	if err != nil {
		h.log.Error("presign blob", "digest", digest, "err", err)
		return errStorage("sign the blob URL")
	}
	// The URL expires and is specific to this moment: never cache the redirect.
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Location", location)
	hdr.Set("Docker-Content-Digest", digest.String())
	w.WriteHeader(http.StatusTemporaryRedirect)
	h.logPresigned(ctx, "presigned blob download: 307 redirect", http.MethodGet, digest.String(), location,
		slog.Int("status", http.StatusTemporaryRedirect))
	return nil
}
