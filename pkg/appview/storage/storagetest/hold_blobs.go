package storagetest

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/ipfs/go-cid"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// getBlob answers an OCI digest: HEAD with its size and digest, GET with a
// 307 to a presigned URL; a blob CID is a scan report (hold_scans.go). A token that is sent must be valid; a private
// hold needs one.
func (h *Hold) getBlob(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	private := h.private
	h.mu.Unlock()
	caller, err := h.caller(r)
	if err == nil {
		h.set(func() { h.blobReaders = append(h.blobReaders, caller) })
	}
	if err == nil && private && caller == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		err = xrpc.AuthRequired("this hold is private")
	}
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	q := r.URL.Query()
	if q.Get("did") != h.DID.String() {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, "RepoNotFound", "this hold hosts only its own repository"))
		return
	}
	d, err := oci.ParseDigest(q.Get("cid"))
	if err != nil {
		if c, cerr := cid.Decode(q.Get("cid")); cerr == nil && r.Method == http.MethodGet {
			h.getScanBlob(w, r, c) // a blob of the hold's PDS: a scan report
			return
		}
		xrpc.WriteError(w, xrpc.InvalidRequest("cid: want an OCI digest or a blob CID"))
		return
	}
	info, err := h.S3.Stat(r.Context(), s3.BlobKey(d))
	if errors.Is(err, s3.ErrNotFound) {
		xrpc.WriteError(w, xrpc.NewError(http.StatusNotFound, atcr.ErrorBlobNotFound, "blob "+d.String()+" is not stored on this hold"))
		return
	}
	if err != nil {
		storageFailed(w, "look up the blob")
		return
	}
	w.Header().Set("Docker-Content-Digest", d.String())
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"`+d.String()+`"`)
		w.WriteHeader(http.StatusOK)
		return
	}
	signed, err := h.S3.PresignGet(r.Context(), s3.BlobKey(d), presignTTL)
	if err != nil {
		storageFailed(w, "presign the blob")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, signed, http.StatusTemporaryRedirect)
}
