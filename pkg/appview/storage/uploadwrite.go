package storage

import (
	"context"
	"errors"
	"fmt"
	"io"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// WriteUpload implements registry.UploadService. The body streams into the
// session's part buffer; each time the buffer fills it is sent as one part
// to the hold's presigned URL and reused. What is left when the body ends
// (less than one part) stays in the buffer for the next chunk or the final
// PUT: S3 needs every part but the last to be at least 5 MiB, and a
// presigned UploadPart needs its length up front. Nothing else is held.
func (s *Store) WriteUpload(ctx context.Context, repo registry.Repo, id string, start int64, body io.Reader) (registry.Upload, error) {
	sess, err := s.acquire(ctx, repo, id)
	if err != nil {
		return registry.Upload{}, err
	}
	defer s.release(sess)
	if start >= 0 && start != sess.offset {
		return sess.state(), fmt.Errorf("upload %s: chunk starts at %d, upload holds %d bytes: %w", id, start, sess.offset, registry.ErrRangeInvalid)
	}
	err = s.appendBody(ctx, sess, body)
	return sess.state(), err
}

// appendBody reads body into the session, flushing full parts.
func (s *Store) appendBody(ctx context.Context, sess *uploadSession, body io.Reader) error {
	defer s.releaseEmptyBuffer(sess)
	for {
		if sess.buf != nil && len(sess.buf) == cap(sess.buf) {
			if err := s.flushPart(ctx, sess); err != nil {
				return err
			}
		}
		if sess.buf == nil {
			buf, err := s.parts.get(ctx)
			if err != nil {
				return err
			}
			sess.buf = buf
		}
		n, err := io.ReadFull(body, sess.buf[len(sess.buf):cap(sess.buf)])
		sess.buf = sess.buf[:len(sess.buf)+n]
		sess.offset += int64(n)
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		case err != nil:
			// What arrived is kept and counted: the client learns the
			// offset from GET and resumes from there.
			return fmt.Errorf("upload %s: read chunk: %w", sess.id, err)
		}
	}
}

// releaseEmptyBuffer gives an empty buffer back to the pool between
// requests; a buffer holding a remainder stays with the session.
func (s *Store) releaseEmptyBuffer(sess *uploadSession) {
	if sess.buf != nil && len(sess.buf) == 0 {
		s.parts.put(sess.buf)
		sess.buf = nil
	}
}

// flushPart sends the buffered bytes as the next part. On failure the bytes
// stay buffered, so a later request sends them again.
func (s *Store) flushPart(ctx context.Context, sess *uploadSession) error {
	n := len(sess.parts) + 1
	if n > MaxParts {
		return fmt.Errorf("upload %s: part %d: %w", sess.id, n, registry.ErrUploadTooLarge)
	}
	etag, err := s.hold.sendPart(ctx, sess.hold, sess.holdID, n, sess.buf)
	if err != nil {
		return fmt.Errorf("upload %s: part %d: %w", sess.id, n, err)
	}
	sess.parts = append(sess.parts, atcr.HoldCompleteUpload_Part{PartNumber: int64(n), ETag: etag})
	if sess.buf != nil {
		sess.buf = sess.buf[:0]
	}
	return nil
}

// FinishUpload implements registry.UploadService: the remainder goes as
// the last part (an empty part for an empty blob, which S3 accepts as the
// only part), then the hold completes the upload and verifies d. A digest
// mismatch ends the session; other failures keep it so the PUT can be
// retried.
func (s *Store) FinishUpload(ctx context.Context, repo registry.Repo, id string, d oci.Digest) (int64, error) {
	sess, err := s.acquire(ctx, repo, id)
	if err != nil {
		return 0, err
	}
	defer s.release(sess)
	if len(sess.parts) == 0 || len(sess.buf) > 0 {
		if err := s.flushPart(ctx, sess); err != nil {
			return 0, err
		}
	}
	size, err := s.hold.completeUpload(ctx, sess.hold, sess.holdID, d, sess.parts)
	if err != nil {
		if errors.Is(err, oci.ErrDigestMismatch) || errors.Is(err, registry.ErrUploadUnknown) {
			if s.dropSession(sess) {
				s.abortSession(ctx, sess)
			}
		}
		return 0, fmt.Errorf("upload %s: complete as %s: %w", id, d, err)
	}
	if size != sess.offset {
		s.log.WarnContext(ctx, "storage: hold reports another blob size", "hold", sess.hold.did, "digest", d, "hold_size", size, "received", sess.offset)
	}
	s.dropSession(sess)
	s.stats.Set(blobKey{hold: sess.hold.did, digest: d, caller: sess.owner}, sess.offset)
	return sess.offset, nil
}
