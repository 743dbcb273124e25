package storage

import (
	"context"
	"errors"
	"fmt"
	"io"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

// smallChunk: a chunk of known size that leaves the session holding at
// most this many bytes goes into an exactly sized buffer instead of a whole
// part buffer (the conformance suite and resumable clients send many small
// chunks).
const smallChunk = 1 << 20

// WriteUpload implements registry.UploadService. The body streams into
// part buffers; each full buffer is sent as one part to the hold's
// presigned URL while the next one fills (partsInFlight at a time). When
// the body ends, a remainder of at least MinPartSize is sent as a part too
// (S3 takes parts of any size from 5 MiB); a smaller one stays with the
// session, moved into a buffer of its own size, for the next chunk or the
// final PUT: S3 needs every part but the last to be at least 5 MiB, and a
// presigned UploadPart needs its length up front. An idle session thus
// holds less than MinPartSize, counted in the budget by what it holds.
func (s *Store) WriteUpload(ctx context.Context, repo registry.Repo, id string, chunk registry.Chunk) (registry.Upload, error) {
	sess, err := s.acquire(ctx, repo, id)
	if err != nil {
		return registry.Upload{}, err
	}
	defer s.release(sess)
	if chunk.Start >= 0 && chunk.Start != sess.offset {
		return sess.state(), fmt.Errorf("upload %s: chunk starts at %d, upload holds %d bytes: %w", id, chunk.Start, sess.offset, registry.ErrRangeInvalid)
	}
	if err := s.resendFailed(ctx, sess); err != nil {
		return sess.state(), err
	}
	if chunk.Size >= 0 && chunk.Size <= smallChunk && len(sess.buf)+int(chunk.Size) <= smallChunk {
		err = s.appendSmall(ctx, sess, chunk)
	} else {
		err = s.appendStream(ctx, sess, chunk.Body)
	}
	return sess.state(), err
}

// appendSmall appends a small chunk of known size. A body shorter than
// announced keeps what arrived.
func (s *Store) appendSmall(ctx context.Context, sess *uploadSession, chunk registry.Chunk) error {
	if need := len(sess.buf) + int(chunk.Size); need > cap(sess.buf) {
		if err := s.budget.reserve(ctx, int64(need-cap(sess.buf))); err != nil {
			return err
		}
		s.moveBuffer(sess, need)
	}
	n, err := io.ReadFull(chunk.Body, sess.buf[len(sess.buf):len(sess.buf)+int(chunk.Size)])
	sess.buf = sess.buf[:len(sess.buf)+n]
	sess.offset += int64(n)
	s.settle(sess)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("upload %s: read chunk: %w", sess.id, err)
	}
	return nil
}

// appendStream reads body through part buffers, sending each full one
// while the next fills, and waits for every part before it returns.
func (s *Store) appendStream(ctx context.Context, sess *uploadSession, body io.Reader) error {
	snd := newPartSender(s, sess)
	err := s.streamParts(ctx, sess, snd, body)
	if err == nil && len(sess.buf) >= MinPartSize {
		if err = snd.send(ctx, sess.buf); err == nil {
			sess.buf = nil
		}
	}
	err = errors.Join(err, snd.wait())
	s.settle(sess)
	return err
}

func (s *Store) streamParts(ctx context.Context, sess *uploadSession, snd *partSender, body io.Reader) error {
	for {
		if snd.err != nil {
			return snd.err
		}
		if cap(sess.buf) != s.budget.partSize {
			if err := s.growToPart(ctx, sess, snd); err != nil {
				return err
			}
			if snd.err != nil { // a part failed while we waited
				return snd.err
			}
		}
		n, err := io.ReadFull(body, sess.buf[len(sess.buf):cap(sess.buf)])
		sess.buf = sess.buf[:len(sess.buf)+n]
		sess.offset += int64(n)
		if len(sess.buf) == cap(sess.buf) {
			if err := snd.send(ctx, sess.buf); err != nil {
				return err
			}
			sess.buf = nil // the sender owns it now, reservation included
		}
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

// growToPart moves the session's bytes into a whole part buffer. While its
// own parts are in flight it waits for those rather than for other
// sessions, so a slow part never turns into a 429.
func (s *Store) growToPart(ctx context.Context, sess *uploadSession, snd *partSender) error {
	need := int64(s.budget.partSize - cap(sess.buf))
	for !s.budget.tryReserve(need) {
		if snd.waitOne() {
			continue
		}
		if err := s.budget.reserve(ctx, need); err != nil {
			return err
		}
		break
	}
	s.moveBuffer(sess, s.budget.partSize)
	return nil
}

// moveBuffer moves the session's bytes into a new buffer of capacity n.
// A larger capacity must already be reserved; a smaller one releases the
// difference.
func (s *Store) moveBuffer(sess *uploadSession, n int) {
	old := sess.buf
	sess.buf = append(s.budget.alloc(n), old...)
	s.budget.recycle(old)
	if n < cap(old) {
		s.budget.release(int64(cap(old) - n))
	}
}

// settle leaves the session holding no more memory than its bytes need
// between requests: nothing when empty, an exactly sized copy otherwise
// (a copy of less than MinPartSize, cheap next to sending it).
func (s *Store) settle(sess *uploadSession) {
	switch n := len(sess.buf); {
	case n == 0:
		s.budget.free(sess.buf)
		sess.buf = nil
	case cap(sess.buf) > n+n/8+4096:
		s.moveBuffer(sess, n)
	}
}

// resendFailed sends again the parts whose send failed during an earlier
// request, under their numbers, before anything else is accepted.
func (s *Store) resendFailed(ctx context.Context, sess *uploadSession) error {
	for len(sess.failed) > 0 {
		p := sess.failed[0]
		etag, err := s.hold.sendPart(ctx, sess.hold, sess.holdID, p.number, p.buf)
		if err != nil {
			return fmt.Errorf("upload %s: part %d: %w", sess.id, p.number, err)
		}
		sess.addPart(p.number, etag)
		s.budget.free(p.buf)
		sess.failed = sess.failed[1:]
	}
	return nil
}

// FinishUpload implements registry.UploadService: the remainder goes as
// the last part (an empty part for an empty blob, which S3 accepts as the
// only part), then the hold completes the upload and verifies d, and d is
// linked to the repository again if it had been unlinked. A digest
// mismatch ends the session; other failures keep it so the PUT can be
// retried.
func (s *Store) FinishUpload(ctx context.Context, repo registry.Repo, id string, d oci.Digest) (int64, error) {
	sess, err := s.acquire(ctx, repo, id)
	if err != nil {
		return 0, err
	}
	defer s.release(sess)
	if err := s.resendFailed(ctx, sess); err != nil {
		return 0, err
	}
	if len(sess.parts) == 0 || len(sess.buf) > 0 {
		n, err := sess.nextPartNumber()
		if err != nil {
			return 0, err
		}
		etag, err := s.hold.sendPart(ctx, sess.hold, sess.holdID, n, sess.buf)
		if err != nil {
			// The bytes stay buffered; a retried PUT sends them again.
			return 0, fmt.Errorf("upload %s: part %d: %w", id, n, err)
		}
		sess.nextPart++
		sess.addPart(n, etag)
		s.budget.free(sess.buf)
		sess.buf = nil
	}
	size, err := s.hold.completeUpload(ctx, sess.hold, sess.holdID, d, sess.parts)
	if err != nil {
		if errors.Is(err, oci.ErrDigestMismatch) || errors.Is(err, registry.ErrUploadUnknown) {
			if s.dropSession(sess) {
				s.abortSession(context.WithoutCancel(ctx), sess)
			}
		}
		return 0, fmt.Errorf("upload %s: complete as %s: %w", id, d, err)
	}
	if size != sess.offset {
		s.log.WarnContext(ctx, "storage: hold reports another blob size", "hold", sess.hold.did, "digest", d, "hold_size", size, "received", sess.offset)
	}
	s.dropSession(sess)
	s.stats.Set(blobKey{hold: sess.hold.did, digest: d, caller: sess.owner}, sess.offset)
	// Uploading a blob into a repository it was deleted from links it again.
	if err := s.relink(ctx, sess.owner, sess.repo, d); err != nil {
		return 0, err
	}
	return sess.offset, nil
}
