package uploads

import (
	"context"
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
	m        *Manager
	sess     *uploadSession
	done     chan partResult
	inflight int
	// err is the first failed send; later sends are refused so the stream
	// stops, and the failed parts wait in sess.failed for the next request.
	err error
}

type partResult struct {
	number int
	buf    []byte
	etag   string
	err    error
}

// pendingPart is a part whose send failed: its bytes stay in memory (and
// in the budget) and are sent again, under the same number, before the
// session accepts anything else.
type pendingPart struct {
	number int
	buf    []byte
}

func newPartSender(m *Manager, sess *uploadSession) *partSender {
	return &partSender{m: m, sess: sess, done: make(chan partResult, partsInFlight)}
}

// send takes buf (and its reservation) as the session's next part and
// starts sending it, first waiting for a free slot. On error buf stays
// with the caller.
func (p *partSender) send(ctx context.Context, buf []byte) error {
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
	p.sess.nextPart++
	p.inflight++
	h, holdID := p.sess.hold, p.sess.holdID
	go func() {
		etag, err := p.m.hold.SendPart(ctx, h, holdID, n, buf)
		p.done <- partResult{number: n, buf: buf, etag: etag, err: err}
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

// wait waits for every part in flight and returns the first failure.
func (p *partSender) wait() error {
	for p.waitOne() {
	}
	return p.err
}

func (p *partSender) collect(r partResult) {
	p.inflight--
	if r.err != nil {
		p.sess.failed = append(p.sess.failed, pendingPart{number: r.number, buf: r.buf})
		slices.SortFunc(p.sess.failed, func(a, b pendingPart) int { return a.number - b.number })
		if p.err == nil {
			p.err = fmt.Errorf("upload %s: part %d: %w", p.sess.id, r.number, r.err)
		}
		return
	}
	p.sess.addPart(r.number, r.etag)
	p.m.budget.free(r.buf)
}

// nextPartNumber is the number the session's next part gets.
func (sess *uploadSession) nextPartNumber() (int, error) {
	if sess.nextPart > MaxParts {
		return 0, fmt.Errorf("upload %s: part %d: %w", sess.id, sess.nextPart, registry.ErrUploadTooLarge)
	}
	return sess.nextPart, nil
}

// addPart records a sent part, keeping the list in part-number order as
// completeUpload requires (parts finish out of order).
func (sess *uploadSession) addPart(n int, etag string) {
	part := holdclient.Part{PartNumber: int64(n), ETag: etag}
	i, _ := slices.BinarySearchFunc(sess.parts, part, func(a, b holdclient.Part) int {
		return int(a.PartNumber - b.PartNumber)
	})
	sess.parts = slices.Insert(sess.parts, i, part)
}
