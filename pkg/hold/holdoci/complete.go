package holdoci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// CompleteUpload serves io.atcr.hold.completeUpload: assemble the parts,
// verify the digest by streaming the staging object back, and move it to
// its content-addressed key.
func (h *Handlers) CompleteUpload(w http.ResponseWriter, r *http.Request) {
	out, err := h.completeUpload(w, r)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	h.writeOK(w, out)
}

func (h *Handlers) completeUpload(w http.ResponseWriter, r *http.Request) (*atcr.HoldCompleteUpload_Output, error) {
	ctx := r.Context()
	caller, err := h.writer(ctx)
	if err != nil {
		return nil, err
	}
	var in atcr.HoldCompleteUpload_Input
	if err := decodeInput(w, r, atcr.HoldCompleteUploadNSID, &in); err != nil {
		return nil, err
	}
	digest, err := oci.ParseDigest(in.Digest)
	if err != nil {
		return nil, errInvalidDigest("%s", err.Error())
	}
	parts, err := completedParts(in.Parts)
	if err != nil {
		return nil, err
	}
	if s3.ValidateUploadID(in.UploadID) != nil {
		return nil, errInvalidUploadID()
	}
	unlock := h.uploadLocks.Lock(in.UploadID)
	defer unlock()
	sess, err := h.ownedSession(ctx, caller, in.UploadID)
	if err != nil {
		return nil, err
	}
	if sess.ExpectedDigest != "" && sess.ExpectedDigest != digest.String() {
		return nil, errInvalidDigest("digest %s differs from %s given to initiateUpload", digest, sess.ExpectedDigest)
	}
	key, err := s3.UploadKey(sess.ID)
	if err != nil {
		return nil, err
	}
	if !sess.Assembled {
		if err := h.assemble(ctx, sess, key, parts); err != nil {
			return nil, err
		}
		sess.Assembled = true
	}
	size, err := h.verifyAndStore(ctx, sess, key, digest)
	if err != nil {
		return nil, err
	}
	h.log.Info("blob stored", "digest", digest, "size", size, "owner", caller, "upload", sess.ID)
	return &atcr.HoldCompleteUpload_Output{Status: "completed", Digest: digest.String(), Size: size}, nil
}

// completedParts checks that the list is non-empty and strictly ascending
// (what S3 requires) and converts it.
func completedParts(in []atcr.HoldCompleteUpload_Part) ([]s3.Part, error) {
	if len(in) == 0 {
		return nil, errMissingParts("no parts listed")
	}
	out := make([]s3.Part, len(in))
	for i, p := range in {
		if i > 0 && p.PartNumber <= in[i-1].PartNumber {
			return nil, errMissingParts("parts must be listed in ascending partNumber order without repeats (part %d after %d)", p.PartNumber, in[i-1].PartNumber)
		}
		if strings.Trim(p.ETag, `"`) == "" {
			return nil, errMissingParts("part %d has no ETag", p.PartNumber)
		}
		out[i] = s3.Part{Number: int32(p.PartNumber), ETag: p.ETag}
	}
	return out, nil
}

// assemble has S3 join the parts into the staging object and records that
// the session's S3 upload is spent. It returns nil once the staging object
// exists, including when an earlier attempt got that far.
func (h *Handlers) assemble(ctx context.Context, sess session, key string, parts []s3.Part) error {
	if err := h.s3.CompleteMultipartUpload(ctx, key, sess.S3UploadID, parts); err != nil {
		if diag := h.diagnoseCompletion(ctx, sess, key, parts); diag != nil {
			h.log.Info("complete multipart upload refused", "upload", sess.ID, "err", err, "answer", diag)
			return diag
		}
	}
	return h.sessions.markAssembled(ctx, sess.ID)
}

// diagnoseCompletion explains a failed CompleteMultipartUpload in the
// lexicon's terms by looking at what S3 holds: the pkg/s3 API (not S3 error
// codes) is all this package reads. nil means the staging object already
// exists (a completion that got as far as S3 before the hold lost track).
func (h *Handlers) diagnoseCompletion(ctx context.Context, sess session, key string, parts []s3.Part) error {
	listed, err := h.s3.ListParts(ctx, key, sess.S3UploadID)
	if errors.Is(err, s3.ErrNotFound) {
		if _, statErr := h.s3.Stat(ctx, key); statErr == nil {
			return nil
		}
		// Aborted behind our back: the session is useless.
		if err := h.sessions.delete(ctx, sess.ID); err != nil {
			h.log.Warn("delete dead upload session", "upload", sess.ID, "err", err)
		}
		return errInvalidUploadID()
	}
	if err != nil {
		h.log.Error("list parts after failed completion", "upload", sess.ID, "err", err)
		return errCompletionFailed(http.StatusBadGateway, "storage failed to assemble the upload")
	}
	uploaded := make(map[int32]s3.Part, len(listed))
	for _, p := range listed {
		uploaded[p.Number] = p
	}
	for _, p := range parts {
		got, ok := uploaded[p.Number]
		if !ok {
			return errMissingParts("part %d was never uploaded", p.Number)
		}
		if strings.Trim(got.ETag, `"`) != strings.Trim(p.ETag, `"`) {
			return errMissingParts("the ETag of part %d does not match the uploaded part", p.Number)
		}
	}
	for _, p := range parts[:len(parts)-1] {
		if size := uploaded[p.Number].Size; size < s3.MinPartSize {
			return errCompletionFailed(http.StatusBadRequest, fmt.Sprintf(
				"part %d is %d bytes: every part but the last must be at least %d bytes", p.Number, size, s3.MinPartSize))
		}
	}
	return errCompletionFailed(http.StatusBadGateway, "storage failed to assemble the upload")
}

// AbortUpload serves io.atcr.hold.abortUpload: abort the S3 upload, delete
// any staging object and forget the session. Only the owner may abort, but
// no write permission is needed: losing it must not stop a user from
// cleaning up, and expired sessions may be aborted too.
func (h *Handlers) AbortUpload(w http.ResponseWriter, r *http.Request) {
	if err := h.abortUpload(w, r); err != nil {
		xrpc.WriteError(w, err)
		return
	}
	h.writeOK(w, atcr.HoldAbortUpload_Output{})
}

func (h *Handlers) abortUpload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	caller, ok := serviceauth.CallerDID(ctx)
	if !ok {
		return xrpc.AuthRequired("a service token is required")
	}
	var in atcr.HoldAbortUpload_Input
	if err := decodeInput(w, r, atcr.HoldAbortUploadNSID, &in); err != nil {
		return err
	}
	if s3.ValidateUploadID(in.UploadID) != nil {
		return errInvalidUploadID()
	}
	unlock := h.uploadLocks.Lock(in.UploadID)
	defer unlock()
	sess, err := h.findSession(ctx, caller, in.UploadID)
	if err != nil {
		return err
	}
	if err := h.discardSession(ctx, sess); err != nil {
		h.log.Error("abort upload", "upload", sess.ID, "err", err)
		return errStorage("abort the upload")
	}
	h.log.Debug("upload aborted", "upload", sess.ID, "owner", caller)
	return nil
}
