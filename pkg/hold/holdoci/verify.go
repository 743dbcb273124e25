package holdoci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"

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
	got, size, err := h.stagedDigest(ctx, key, digest.Algorithm())
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
	charged, err := h.checkUploadQuota(ctx, sess, digest, size)
	if err != nil {
		return 0, err
	}
	if err := h.storeBlob(ctx, key, digest, size); err != nil {
		h.log.Error("store blob", "upload", sess.ID, "digest", digest, "err", err)
		return 0, errCompletionFailed(http.StatusBadGateway, "storage (S3) failed to move the blob to its digest").
			WithRetryAfter(storageRetryAfter)
	}
	if charged {
		if err := h.sessions.addPending(context.WithoutCancel(ctx), sess.Owner, digest.String(), size, h.now()); err != nil {
			h.log.Warn("record pending blob", "upload", sess.ID, "digest", digest, "err", err)
		}
	}
	if err := h.sessions.delete(ctx, sess.ID); err != nil {
		// The blob is stored; the sweeper will find nothing left to abort.
		h.log.Warn("delete completed upload session", "upload", sess.ID, "err", err)
	}
	return size, nil
}

// checkUploadQuota refuses a completed upload that would take its owner
// over quota, counting what the owner has in flight besides their layer
// records: blobs completed but not yet announced and bytes staged in other
// open sessions. A refused upload is discarded, so nothing is left behind.
// charged reports whether the blob is new to the owner (it then counts as
// pending until a notification records it).
func (h *Handlers) checkUploadQuota(ctx context.Context, sess session, digest oci.Digest, size int64) (charged bool, err error) {
	owned, err := h.layers.UserOwns(ctx, sess.Owner, []string{digest.String()})
	if err != nil {
		return false, err
	}
	if owned[digest.String()] {
		return false, nil // already counted in the owner's usage
	}
	if h.quota == nil {
		return true, nil
	}
	inFlight, err := h.sessions.unrecordedBytes(ctx, sess.Owner, digest.String(), sess.ID, h.now())
	if err != nil {
		return false, err
	}
	if _, _, err := h.quota.CheckQuota(ctx, sess.Owner, inFlight+size); err != nil {
		var xe *xrpc.Error
		if errors.As(err, &xe) && xe.Name == atcr.ErrorQuotaExceeded {
			if err := h.discardSession(ctx, sess); err != nil {
				h.log.Warn("discard over-quota upload", "upload", sess.ID, "err", err)
			}
		}
		return false, err
	}
	return true, nil
}

// stagedDigester is a StagingStore that may have hashed an assembled
// upload already, while its parts arrived: the embedded S3 server, which
// assembles the hold's uploads in place (pkg/s3/embedded, assembly.go).
type stagedDigester interface {
	StagedSHA256(key string) (sum string, size int64, ok bool)
}

// stagedDigest is the digest and size of the staging object at key: the
// store's own SHA-256 when it has one, else the object read back.
func (h *Handlers) stagedDigest(ctx context.Context, key string, alg oci.Algorithm) (oci.Digest, int64, error) {
	if sd, ok := h.staging.(stagedDigester); ok && alg == oci.SHA256 {
		if sum, size, ok := sd.StagedSHA256(key); ok {
			if d, err := oci.ParseDigest(string(oci.SHA256) + ":" + sum); err == nil {
				return d, size, nil
			}
		}
	}
	return h.hashObject(ctx, key, alg)
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

// storeBlob moves the verified staging object to the digest's key. When an
// object is already there (another push of the same content) it is checked
// first: a size that differs from the verified upload (a torn write after
// a crash), or — when the stored bytes are cheap to read back (Options.
// RehashExisting, the embedded server's local files) — bytes that hash to
// another digest, are replaced by the staging copy; a sound object is kept
// and the staging copy deleted. Either way the blob is pinned (pins.go):
// a re-upload makes it young again for garbage collection. All of this
// happens under the blob guard's shared side.
func (h *Handlers) storeBlob(ctx context.Context, staging string, digest oci.Digest, size int64) error {
	release := h.guard.share()
	defer release()
	final := s3.BlobKey(digest)
	sctx, cancel := storageCtx(ctx)
	defer cancel()
	info, err := h.s3.Stat(sctx, final)
	switch {
	case errors.Is(err, s3.ErrNotFound):
		return h.staging.Move(ctx, staging, final)
	case err != nil:
		return err
	}
	sound := info.Size == size
	if sound && h.rehashExisting {
		got, _, err := h.hashObject(ctx, final, digest.Algorithm())
		if err != nil {
			return err
		}
		sound = got == digest
	}
	if !sound {
		h.log.Warn("stored blob does not match its digest; replacing it with the verified upload",
			"digest", digest, "storedSize", info.Size, "size", size)
		return h.staging.Move(ctx, staging, final)
	}
	if err := h.pinBlob(ctx, digest.String()); err != nil {
		return err
	}
	return h.s3.Delete(ctx, staging)
}
