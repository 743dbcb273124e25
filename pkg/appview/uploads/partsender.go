package uploads

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

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

	// Checkpoints are made by the sends as they finish, not by the
	// request's goroutine, which may be waiting for the client's next
	// bytes: a finished part is saved at once, so a resume after this
	// AppView dies or stalls starts at most the parts in flight back.
	// ckMu orders them; sent is the session's parts (as of the sender's
	// start) and the ones sent since, in part-number order; saved is how
	// many of them, without a gap from part 1, the last checkpoint holds.
	ckMu  sync.Mutex
	sent  []sentPart
	saved int
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
	sent := slices.Clone(sess.parts)
	return &partSender{ctx: ctx, stop: stop, m: m, sess: sess, done: make(chan partResult, partsInFlight),
		sent: sent, saved: gapless(sent)}
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
		if err == nil {
			p.checkpoint(sentPart{Part: holdclient.Part{PartNumber: int64(n), ETag: etag}, End: start.offset + int64(len(buf))})
		}
		p.done <- partResult{partStart: start, buf: buf, etag: etag, err: err}
	}()
	return nil
}

// checkpoint records a part the hold took and, when the parts taken
// without a gap from part 1 grew, saves the session as of the last of
// them (a shared store's checkpoint). A failure is logged: the request
// goes on, and its end saves the session (or fails the same way).
func (p *partSender) checkpoint(part sentPart) {
	p.ckMu.Lock()
	defer p.ckMu.Unlock()
	p.sent = withPart(p.sent, part)
	k := gapless(p.sent)
	if k <= p.saved {
		return
	}
	if err := p.m.store.checkpoint(p.ctx, p.sess, p.sent[:k]); err != nil {
		p.m.log.WarnContext(p.ctx, "uploads: checkpoint", "upload", p.sess.id, "err", err)
		return
	}
	p.saved = k
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
	sess.parts = withPart(sess.parts, sentPart{Part: holdclient.Part{PartNumber: int64(n), ETag: etag}, End: end})
}

// withPart puts part into parts (in part-number order), replacing a part
// of the same number.
func withPart(parts []sentPart, part sentPart) []sentPart {
	i, found := slices.BinarySearchFunc(parts, part, func(a, b sentPart) int {
		return int(a.PartNumber - b.PartNumber)
	})
	if found {
		parts[i] = part
		return parts
	}
	return slices.Insert(parts, i, part)
}
