package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The fake hold's upload procedures: initiateUpload, getPartUploadUrl,
// uploadPart, completeUpload, abortUpload.

func (h *Hold) initiate(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldInitiateUpload_Input
	if !h.decode(w, r, &in) {
		return
	}
	if !h.isCrew(caller) {
		xrpc.WriteError(w, xrpc.Forbidden("only the hold's crew may push"))
		return
	}
	if in.Digest != "" {
		if _, err := oci.ParseDigest(in.Digest); err != nil {
			xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest, "digest: "+err.Error()))
			return
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	key, _ := s3.UploadKey(id)
	s3ID, err := h.S3.CreateMultipartUpload(r.Context(), key)
	if err != nil {
		storageFailed(w, "start the upload")
		return
	}
	h.set(func() { h.uploads[id] = &holdUpload{key: key, s3ID: s3ID, owner: caller, expected: in.Digest} })
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldInitiateUpload_Output{UploadID: id, ExpiresAt: datetime(time.Now().Add(sessionTTL))})
}

func (h *Hold) partURL(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldGetPartUploadURL_Input
	if !h.decode(w, r, &in) {
		return
	}
	u := h.upload(w, in.UploadID, caller)
	if u == nil {
		return
	}
	if in.PartNumber < 1 || in.PartNumber > s3.MaxParts {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidPartNumber, "part number out of range"))
		return
	}
	h.mu.Lock()
	noPresign, delay := h.noPresign, h.partDelay
	h.mu.Unlock()
	if !wait(r, delay) {
		return
	}
	out := atcr.HoldGetPartUploadURL_Output{Method: http.MethodPut, Headers: map[string]any{}, ExpiresAt: datetime(time.Now().Add(presignTTL))}
	if noPresign || in.Size == nil {
		// As the real hold without presigning (or without a stated size): its own uploadPart, which
		// takes the service token instead of a signature.
		q := url.Values{"uploadId": {in.UploadID}, "partNumber": {strconv.FormatInt(in.PartNumber, 10)}}
		out.URL = h.URL() + "/xrpc/" + atcr.HoldUploadPartNSID + "?" + q.Encode()
	} else {
		signed, err := h.S3.PresignUploadPart(r.Context(), u.key, u.s3ID, int32(in.PartNumber), *in.Size, presignTTL)
		if err != nil {
			storageFailed(w, "presign the part")
			return
		}
		out.URL = signed
	}
	_ = xrpc.WriteJSON(w, http.StatusOK, out)
}

func (h *Hold) uploadPart(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	q := r.URL.Query()
	u := h.upload(w, q.Get("uploadId"), caller)
	if u == nil {
		return
	}
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > s3.MaxParts {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidPartNumber, "part number out of range"))
		return
	}
	switch {
	case r.ContentLength < 0:
		xrpc.WriteError(w, xrpc.InvalidRequest("Content-Length is required"))
		return
	case r.ContentLength > maxFallbackPart:
		xrpc.WriteError(w, xrpc.PayloadTooLarge("part too large"))
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil || int64(len(data)) != r.ContentLength {
		xrpc.WriteError(w, xrpc.InvalidRequest("the part body ended early"))
		return
	}
	part, err := h.S3.UploadPart(r.Context(), u.key, u.s3ID, int32(n), bytes.NewReader(data))
	if err != nil {
		storageFailed(w, "store the part")
		return
	}
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldUploadPart_Output{ETag: part.ETag})
}

// complete checks its input in the real hold's order (digest, parts,
// session), assembles the parts, verifies the digest by reading the
// assembled object back, and only then moves it to its content-addressed
// key; on a mismatch nothing is stored and the session ends. Other
// failures keep the session, so the call can be repeated.
func (h *Hold) complete(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldCompleteUpload_Input
	if !h.decode(w, r, &in) {
		return
	}
	d, err := oci.ParseDigest(in.Digest)
	if err != nil {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest, "digest: "+err.Error()))
		return
	}
	if err := checkParts(in.Parts); err != nil {
		xrpc.WriteError(w, err)
		return
	}
	u := h.upload(w, in.UploadID, caller)
	if u == nil {
		return
	}
	h.mu.Lock()
	delay := h.completeDelay
	h.mu.Unlock()
	if !wait(r, delay) {
		return
	}
	ctx := r.Context()
	end := func() {
		h.set(func() { delete(h.uploads, in.UploadID) })
		_ = h.S3.Delete(ctx, u.key)
	}
	if u.expected != "" && u.expected != d.String() {
		end()
		_ = h.S3.AbortMultipartUpload(ctx, u.key, u.s3ID)
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest,
			"the upload was started for "+u.expected+", not "+d.String()))
		return
	}
	parts := make([]s3.Part, len(in.Parts))
	for i, p := range in.Parts {
		parts[i] = s3.Part{Number: int32(p.PartNumber), ETag: p.ETag}
	}
	if !u.assembled {
		if err := h.S3.CompleteMultipartUpload(ctx, u.key, u.s3ID, parts); err != nil {
			xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorCompletionFailed, "storage refused the parts"))
			return
		}
		h.set(func() { u.assembled = true })
	}
	size, err := h.verify(ctx, u.key, d)
	if errors.Is(err, oci.ErrDigestMismatch) {
		end()
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest, err.Error()))
		return
	}
	if err != nil {
		storageFailed(w, "read the assembled upload")
		return
	}
	h.mu.Lock()
	overQuota := h.overQuota
	h.mu.Unlock()
	if overQuota {
		end()
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorQuotaExceeded,
			fmt.Sprintf("storage quota exceeded: this push needs %d bytes more", size)))
		return
	}
	if err := h.S3.Move(ctx, u.key, s3.BlobKey(d)); err != nil {
		storageFailed(w, "store the blob")
		return
	}
	h.set(func() {
		delete(h.uploads, in.UploadID)
		h.completed = append(h.completed, Completed{Digest: d, Parts: len(parts), Size: size})
	})
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldCompleteUpload_Output{Status: "completed", Digest: d.String(), Size: size})
}

// checkParts refuses an empty, unordered or incomplete parts list.
func checkParts(parts []atcr.HoldCompleteUpload_Part) error {
	if len(parts) == 0 {
		return xrpc.NewError(http.StatusBadRequest, atcr.ErrorMissingParts, "no parts")
	}
	for i, p := range parts {
		if p.ETag == "" || (i > 0 && p.PartNumber <= parts[i-1].PartNumber) {
			return xrpc.NewError(http.StatusBadRequest, atcr.ErrorMissingParts, "parts must be in ascending order, each with its ETag")
		}
	}
	return nil
}

// verify hashes the object at key and compares it with d.
func (h *Hold) verify(ctx context.Context, key string, d oci.Digest) (int64, error) {
	rc, _, err := h.S3.Open(ctx, key)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	hasher := oci.NewHasher(d.Algorithm())
	if _, err := io.Copy(hasher, rc); err != nil {
		return 0, err
	}
	return hasher.Size(), hasher.Verify(d, oci.SizeUnknown)
}

func (h *Hold) abort(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldAbortUpload_Input
	if !h.decode(w, r, &in) {
		return
	}
	u := h.upload(w, in.UploadID, caller)
	if u == nil {
		return
	}
	h.set(func() { delete(h.uploads, in.UploadID) })
	if err := h.S3.AbortMultipartUpload(r.Context(), u.key, u.s3ID); err != nil && !u.assembled {
		storageFailed(w, "abort the upload")
		return
	}
	_ = h.S3.Delete(r.Context(), u.key)
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldAbortUpload_Output{})
}

// wait holds a request back for d (a slow hold); false when its caller
// went away first, as the real hold then gives up.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}
