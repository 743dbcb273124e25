package uploads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"atcr.io/pkg/appview/registry"
)

// smallChunk: a chunk of known size that leaves the session holding at
// most this many bytes goes into an exactly sized buffer instead of a whole
// part buffer (the conformance suite and resumable clients send many small
// chunks).
const smallChunk = 1 << 20

// Write appends a chunk to the session. The body streams into
// part buffers; each full buffer is sent as one part to the hold's
// presigned URL while the next one fills (partsInFlight at a time). When
// the body ends, a remainder of at least MinPartSize is sent as a part too
// (S3 takes parts of any size from 5 MiB); a smaller one stays with the
// session, moved into a buffer of its own size, for the next chunk or the
// final PUT: S3 needs every part but the last to be at least 5 MiB, and a
// presigned UploadPart needs its length up front. An idle session thus
// holds less than MinPartSize, counted in the budget by what it holds.
func (m *Manager) Write(ctx context.Context, repo registry.Repo, id string, chunk registry.Chunk) (_ registry.Upload, err error) {
	ctx, sess, err := m.acquire(ctx, repo, id)
	if err != nil {
		return registry.Upload{}, err
	}
	defer func() { err = errors.Join(err, m.release(ctx, sess)) }()
	if chunk.Start >= 0 && chunk.Start != sess.offset {
		return sess.state(), fmt.Errorf("upload %s: chunk starts at %d, upload holds %d bytes: %w", id, chunk.Start, sess.offset, registry.ErrRangeInvalid)
	}
	if !chunk.Last {
		if err := m.checkParked(ctx, sess); err != nil {
			return sess.state(), err
		}
	}
	before := sess.offset
	if m.isSmall(sess, chunk.Size) {
		err = m.appendSmall(ctx, sess, chunk)
	} else {
		err = m.appendStream(ctx, sess, chunk.Body)
	}
	if err == nil && chunk.Size >= 0 && sess.offset-before != chunk.Size {
		// Kept, like any bytes that arrived; the client resumes from GET.
		err = fmt.Errorf("upload %s: %d of %d bytes arrived: %w", id, sess.offset-before, chunk.Size, registry.ErrBodyIncomplete)
	}
	if errors.Is(context.Cause(ctx), errLockLost) {
		// Another AppView took the session over (this one stalled past
		// the lock's TTL): that is the answer, not the part send the loss
		// cancelled (which would read as the hold or PDS failing), and
		// this request's copy of the session is stale, so no Range.
		return registry.Upload{}, fmt.Errorf("upload %s: %w", id, errLockLost)
	}
	return sess.state(), err
}

// checkParked reserves, with a shared store, a part's worth of the
// owner's Options.MaxParkedBytesPerUser for what this chunk may leave in
// Redis (a cut PATCH leaves up to a part; one that ends leaves under
// MinPartSize), before any of it is read. While the owner's sessions keep
// too much there, it waits for them to finish, as a chunk waits for
// upload memory, for up to PartWait, then refuses (429). Reserving before
// reading keeps concurrent PATCHes within the bound; waiting lets a burst
// of pushes (whose remainders go with their PUTs a moment later) through.
func (m *Manager) checkParked(ctx context.Context, sess *uploadSession) error {
	if m.store.local() {
		return nil
	}
	deadline := time.Now().Add(m.opts.PartWait)
	pause := 20 * time.Millisecond
	for {
		ok, err := m.store.reserveParked(ctx, sess, int64(m.budget.partSize), m.opts.MaxParkedBytesPerUser)
		if err != nil {
			return fmt.Errorf("upload %s: %w", sess.id, err)
		}
		if ok {
			return nil
		}
		if time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("upload %s: %s keeps up to %d bytes of unfinished uploads in Redis: %w",
				sess.id, sess.owner, m.opts.MaxParkedBytesPerUser, registry.ErrTooManyUploads)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("upload %s: wait for parked bytes: %w", sess.id, context.Cause(ctx))
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// isSmall says whether a chunk of size bytes (-1 unknown) goes into an
// exactly sized buffer. With Redis the remainder kept there is not loaded
// for it (only the chunk is appended), so any known-size chunk up to
// smallChunk that leaves the remainder under MinPartSize qualifies.
func (m *Manager) isSmall(sess *uploadSession, size int64) bool {
	if size < 0 || size > smallChunk {
		return false
	}
	if m.store.local() {
		return len(sess.buf)+int(size) <= smallChunk
	}
	return sess.remainder()+int(size) < MinPartSize
}

// appendSmall appends a small chunk of known size. A body shorter than
// announced keeps what arrived (Write reports it).
func (m *Manager) appendSmall(ctx context.Context, sess *uploadSession, chunk registry.Chunk) error {
	if need := len(sess.buf) + int(chunk.Size); need > cap(sess.buf) {
		if err := m.budget.reserve(ctx, sess.owner, int64(need-cap(sess.buf))); err != nil {
			return err
		}
		m.moveBuffer(sess, need)
	}
	n, err := io.ReadFull(chunk.Body, sess.buf[len(sess.buf):len(sess.buf)+int(chunk.Size)])
	sess.buf = sess.buf[:len(sess.buf)+n]
	sess.offset += int64(n)
	m.settle(sess)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("upload %s: read chunk: %w", sess.id, err)
	}
	return nil
}

// appendStream reads body through part buffers, sending each full one
// while the next fills, and waits for every part before it returns.
func (m *Manager) appendStream(ctx context.Context, sess *uploadSession, body io.Reader) error {
	if err := m.loadRemainder(ctx, sess); err != nil {
		return err
	}
	snd := newPartSender(ctx, m, sess)
	err := m.streamParts(ctx, sess, snd, body)
	if err == nil && len(sess.buf) >= MinPartSize {
		if err = snd.send(sess.buf); err == nil {
			sess.buf = nil
		}
	}
	err = errors.Join(err, snd.wait())
	m.settle(sess)
	return err
}

func (m *Manager) streamParts(ctx context.Context, sess *uploadSession, snd *partSender, body io.Reader) error {
	for {
		if snd.err != nil {
			return snd.err
		}
		if cap(sess.buf) != m.budget.partSize {
			if err := m.growToPart(ctx, sess, snd); err != nil {
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
			if err := snd.send(sess.buf); err != nil {
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
func (m *Manager) growToPart(ctx context.Context, sess *uploadSession, snd *partSender) error {
	need := int64(m.budget.partSize - cap(sess.buf))
	for !m.budget.tryReserve(sess.owner, need) {
		if snd.waitOne() {
			continue
		}
		if err := m.budget.reserve(ctx, sess.owner, need); err != nil {
			return err
		}
		break
	}
	m.moveBuffer(sess, m.budget.partSize)
	return nil
}

// moveBuffer moves the session's bytes into a new buffer of capacity n.
// A larger capacity must already be reserved; a smaller one releases the
// difference.
func (m *Manager) moveBuffer(sess *uploadSession, n int) {
	old := sess.buf
	sess.buf = append(m.budget.alloc(n), old...)
	m.budget.recycle(old)
	if n < cap(old) {
		m.budget.release(sess.owner, int64(cap(old)-n))
	}
}

// settle leaves the session holding no more memory than its bytes need
// between requests: nothing when empty, an exactly sized copy otherwise
// (a copy of less than MinPartSize, cheap next to sending it).
func (m *Manager) settle(sess *uploadSession) {
	switch n := len(sess.buf); {
	case n == 0:
		m.budget.free(sess.owner, sess.buf)
		sess.buf = nil
	case cap(sess.buf) > n+n/8+4096:
		m.moveBuffer(sess, n)
	}
}
