package uploads

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
)

// partsInFlight is how many parts of one stream are sent at once while the
// next part is read from the client: the client never waits for S3, and a
// stream holds at most partsInFlight+1 part buffers.
const partsInFlight = 2

// partSender sends the full part buffers of one request concurrently. It
// belongs to the request holding the session's lock: results are applied
// to the session by the request's goroutine only (collect).
type partSender struct {
	// ctx is the request's, detached from its client (detachFromClient):
	// a part read in full is sent and kept though the client has gone.
	ctx      context.Context
	stop     context.CancelFunc
	m        *Manager
	sess     *uploadSession
	done     chan partResult
	inflight int
	// err is the first failed send; later sends are refused so the stream
	// stops. A failed part's buffer is released at once (holding it for a
	// retry would let a failing hold pin upload memory); rewind is where
	// the session must go back to: the start of the earliest failed part.
	err    error
	rewind *partStart
}

// partStart is where a part begins: its number and its offset in the blob.
type partStart struct {
	number int
	offset int64
}

type partResult struct {
	partStart
	buf  []byte
	etag string
	err  error
}

func newPartSender(ctx context.Context, m *Manager, sess *uploadSession) *partSender {
	ctx, stop := detachFromClient(ctx)
	return &partSender{ctx: ctx, stop: stop, m: m, sess: sess, done: make(chan partResult, partsInFlight)}
}

// detachFromClient returns a context with ctx's values that is cancelled
// when ctx is for any cause but the client's going away (a lost session
// lock, errLockLost), and the function that releases it. Each send is
// bounded by the hold client's own timeouts.
func detachFromClient(ctx context.Context) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
			cancel(cause)
		}
	})
	return out, func() {
		stop()
		cancel(context.Canceled)
	}
}

// send takes buf (and its reservation) as the session's next part, which
// holds the blob's bytes up to the session's offset, and starts sending it,
// first waiting for a free slot. On error buf stays with the caller.
func (p *partSender) send(buf []byte) error {
	for p.err == nil && p.inflight >= partsInFlight {
		p.collect(<-p.done)
	}
	if p.err != nil {
		return p.err
	}
	n, err := p.sess.nextPartNumber()
	if err != nil {
		return err
	}
	start := partStart{number: n, offset: p.sess.offset - int64(len(buf))}
	p.sess.nextPart++
	p.inflight++
	h, holdID := p.sess.hold, p.sess.holdID
	go func() {
		etag, err := p.m.hold.SendPart(p.ctx, h, holdID, n, buf)
		p.done <- partResult{partStart: start, buf: buf, etag: etag, err: err}
	}()
	return nil
}

// waitOne waits for one part in flight; false when none is.
func (p *partSender) waitOne() bool {
	if p.inflight == 0 {
		return false
	}
	p.collect(<-p.done)
	return true
}

// wait waits for every part in flight, rewinds the session to the earliest
// failed part if any failed, and returns the first failure. The sender is
// done after it.
func (p *partSender) wait() error {
	for p.waitOne() {
	}
	p.stop()
	if p.rewind != nil {
		p.m.rewind(p.sess, *p.rewind)
	}
	return p.err
}

func (p *partSender) collect(r partResult) {
	p.inflight--
	p.m.budget.free(p.sess.owner, r.buf)
	if r.err != nil {
		if p.rewind == nil || r.number < p.rewind.number {
			p.rewind = &r.partStart
		}
		if p.err == nil {
			p.err = fmt.Errorf("upload %s: part %d: %w", p.sess.id, r.number, r.err)
		}
		return
	}
	p.sess.addPart(r.number, r.etag, r.offset+int64(len(r.buf)))
	if err := p.m.store.checkpoint(p.ctx, p.sess); err != nil {
		// The request goes on; saving at its end fails the same way and
		// the client hears of it then.
		p.m.log.WarnContext(p.ctx, "uploads: checkpoint", "upload", p.sess.id, "err", err)
	}
}

// rewind takes the session back to the start of a part whose send failed:
// the part and everything after it (later parts, the buffered remainder)
// are dropped and their memory returned, and the client resumes from the
// offset GET reports (or starts the blob again, as most clients do). Later
// parts that did arrive are replaced when sent again under their numbers.
func (m *Manager) rewind(sess *uploadSession, to partStart) {
	m.budget.free(sess.owner, sess.buf)
	sess.buf, sess.stored = nil, 0
	sess.offset = to.offset
	sess.nextPart = to.number
	sess.parts = slices.DeleteFunc(sess.parts, func(p sentPart) bool { return p.PartNumber >= int64(to.number) })
}

// nextPartNumber is the number the session's next part gets.
func (sess *uploadSession) nextPartNumber() (int, error) {
	if sess.nextPart > MaxParts {
		return 0, fmt.Errorf("upload %s: part %d: %w", sess.id, sess.nextPart, registry.ErrUploadTooLarge)
	}
	return sess.nextPart, nil
}

// addPart records a sent part, keeping the list in part-number order as
// completeUpload requires (parts finish out of order); a part sent again
// after a rewind replaces its earlier entry.
func (sess *uploadSession) addPart(n int, etag string, end int64) {
	part := sentPart{Part: holdclient.Part{PartNumber: int64(n), ETag: etag}, End: end}
	i, found := slices.BinarySearchFunc(sess.parts, part, func(a, b sentPart) int {
		return int(a.PartNumber - b.PartNumber)
	})
	if found {
		sess.parts[i] = part
		return
	}
	sess.parts = slices.Insert(sess.parts, i, part)
}
