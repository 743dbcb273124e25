package holdoci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// verifyBufSize is the read size while hashing the staging object: large
// reads keep the per-call overhead of the S3 response body small.
const verifyBufSize = 1 << 20

// verifyAndStore hashes the assembled staging object and, when it matches
// digest, moves it to the blob key (or deletes it when the blob is already
// stored) and forgets the session; it returns the blob's size. On a
// mismatch the staging object and the session are deleted and the answer
// is InvalidDigest naming the computed digest. On a storage failure nothing
// is deleted, so the caller may complete again.
func (h *Handlers) verifyAndStore(ctx context.Context, sess session, key string, digest oci.Digest) (int64, error) {
	got, size, err := h.hashObject(ctx, key, digest.Algorithm())
	if errors.Is(err, s3.ErrNotFound) {
		// Marked assembled, yet nothing staged: a previous attempt finished
		// after all, or someone removed the object. Either way this session
		// has nothing left to complete.
		if err := h.sessions.delete(ctx, sess.ID); err != nil {
			h.log.Warn("delete empty upload session", "upload", sess.ID, "err", err)
		}
		return 0, errInvalidUploadID()
	}
	if err != nil {
		h.log.Error("verify upload", "upload", sess.ID, "err", err)
		return 0, errCompletionFailed(http.StatusBadGateway, "storage failed to read back the upload")
	}
	if got != digest {
		if err := h.discardSession(ctx, sess); err != nil {
			// The sweeper retries; the blob key was never touched.
			h.log.Warn("discard mismatched upload", "upload", sess.ID, "err", err)
		}
		return 0, errInvalidDigest("the uploaded bytes have digest %s, not %s", got, digest)
	}
	if err := h.storeBlob(ctx, key, digest); err != nil {
		h.log.Error("store blob", "upload", sess.ID, "digest", digest, "err", err)
		return 0, errCompletionFailed(http.StatusBadGateway, "storage failed to move the blob to its digest")
	}
	if err := h.sessions.delete(ctx, sess.ID); err != nil {
		// The blob is stored; the sweeper will find nothing left to abort.
		h.log.Warn("delete completed upload session", "upload", sess.ID, "err", err)
	}
	return size, nil
}

// hashObject streams the object at key through a hash of alg.
func (h *Handlers) hashObject(ctx context.Context, key string, alg oci.Algorithm) (oci.Digest, int64, error) {
	body, _, err := h.staging.Open(ctx, key)
	if err != nil {
		return oci.Digest{}, 0, err
	}
	defer body.Close()
	hasher := oci.NewHasher(alg)
	if _, err := io.CopyBuffer(hasher, body, make([]byte, verifyBufSize)); err != nil {
		return oci.Digest{}, 0, fmt.Errorf("read %s: %w", key, err)
	}
	d, _ := hasher.Digest(alg) // computed: the hasher was made for alg
	return d, hasher.Size(), nil
}

// storeBlob moves the verified staging object to the digest's key. When the
// blob is already there (another push of the same content) the staging copy
// is simply deleted: the stored bytes are identical by construction.
func (h *Handlers) storeBlob(ctx context.Context, staging string, digest oci.Digest) error {
	final := s3.BlobKey(digest)
	_, err := h.s3.Stat(ctx, final)
	switch {
	case err == nil:
		return h.s3.Delete(ctx, staging)
	case errors.Is(err, s3.ErrNotFound):
		return h.staging.Move(ctx, staging, final)
	default:
		return err
	}
}
