package storage

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/registry"
)

// Group commit of one owner's pushes. The reference PDS writes one
// account's repository one commit at a time, and a commit costs it about
// 8 ms of CPU on top of its records (signing, the MST's new root, the
// firehose event); its single JavaScript thread is what a burst of pushes
// to one account (a CI job pushing several images at once, the stress run
// of make bench) waits for. So while one applyWrites of an owner is in
// flight, the pushes that reach the same point queue, and the next call
// carries all of them: one commit for several pushes, each push's writes
// still all or nothing with the rest of its call. A lone push is sent at
// once, as before.

const (
	// maxBatchPushes bounds the pushes of one call.
	maxBatchPushes = 16
	// maxBatchWrites is the reference PDS's limit on the writes of one
	// applyWrites.
	maxBatchWrites = 200
	// maxBatchBytes bounds the records' JSON in one call, under the 1 MB
	// the reference PDS takes (a push of a larger manifest goes alone).
	maxBatchBytes = 512 << 10
	// batchTimeout bounds one call: the batch is sent without any one
	// push's context, so that a client that goes away cannot cancel the
	// others' writes.
	batchTimeout = 30 * time.Second
)

// pushBatcher queues the writes of pushes per owner.
type pushBatcher struct {
	log *slog.Logger
	mu  sync.Mutex
	// queues holds an owner's queue while a goroutine (send) sends it; the
	// goroutine removes it once it is empty.
	queues map[syntax.DID]*pushQueue
}

// pushQueue is one owner's waiting pushes.
type pushQueue struct {
	waiting []*queuedPush
}

// queuedPush is one push's writes and, once done is closed, their outcome.
type queuedPush struct {
	ctx    context.Context
	client *atclient.APIClient
	writes []recordWrite
	bytes  int
	taken  bool // in a call already; no longer the push's to withdraw

	done    chan struct{}
	results []writeResult
	err     error
}

func newPushBatcher(log *slog.Logger) *pushBatcher {
	return &pushBatcher{log: log, queues: map[syntax.DID]*pushQueue{}}
}

// apply validates one push's records (about size bytes of JSON) and
// writes them in an applyWrites of did, alone or with other pushes of did;
// it returns one result per write. A push whose context ends while it
// waits is withdrawn unsent; once sent, apply waits for the answer,
// because the caller must undo what was written.
func (b *pushBatcher) apply(ctx context.Context, c *atclient.APIClient, did syntax.DID, writes []recordWrite, size int) ([]writeResult, error) {
	if err := validateWrites(writes); err != nil {
		return nil, err
	}
	p := &queuedPush{ctx: ctx, client: c, writes: writes, bytes: size, done: make(chan struct{})}
	b.mu.Lock()
	q := b.queues[did]
	if q == nil {
		q = &pushQueue{}
		b.queues[did] = q
		go b.send(did, q)
	}
	q.waiting = append(q.waiting, p)
	b.mu.Unlock()

	select {
	case <-p.done:
		return p.results, p.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	if !p.taken {
		q.remove(p)
		b.mu.Unlock()
		return nil, ctx.Err()
	}
	b.mu.Unlock()
	<-p.done
	return p.results, p.err
}

// send sends did's queued pushes, as many per call as fit, until none is
// left.
func (b *pushBatcher) send(did syntax.DID, q *pushQueue) {
	for {
		b.mu.Lock()
		batch := q.take()
		if len(batch) == 0 {
			delete(b.queues, did)
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.call(did, batch)
	}
}

// take removes from the queue, in order, the pushes the next call
// carries: the first always; then each that fits the call's limits and
// writes no record another push of the call writes (the PDS would refuse
// the whole call), which waits for the next call instead.
func (q *pushQueue) take() []*queuedPush {
	var batch []*queuedPush
	writes, size := 0, 0
	records := map[string]bool{}
	rest := q.waiting[:0]
	for _, p := range q.waiting {
		if len(batch) > 0 && (len(batch) == maxBatchPushes || writes+len(p.writes) > maxBatchWrites || size+p.bytes > maxBatchBytes || p.writesAny(records)) {
			rest = append(rest, p)
			continue
		}
		for _, w := range p.writes {
			records[w.collection+"/"+w.rkey] = true
		}
		writes += len(p.writes)
		size += p.bytes
		p.taken = true
		batch = append(batch, p)
	}
	clear(q.waiting[len(rest):])
	q.waiting = rest
	return batch
}

// writesAny reports whether p writes one of records.
func (p *queuedPush) writesAny(records map[string]bool) bool {
	for _, w := range p.writes {
		if records[w.collection+"/"+w.rkey] {
			return true
		}
	}
	return false
}

// remove takes a push that has not been sent out of the queue.
func (q *pushQueue) remove(p *queuedPush) {
	for i, w := range q.waiting {
		if w == p {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			return
		}
	}
}

// call sends a batch and hands each push its results. When a call of
// several pushes fails for anything but the session (which they share),
// each push is sent alone: one push's stale guess about a tag, or a record
// the PDS refuses, must not fail the others.
func (b *pushBatcher) call(did syntax.DID, batch []*queuedPush) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), batchTimeout)
	defer cancel()
	defer func() {
		for _, p := range batch {
			close(p.done)
		}
	}()
	if len(batch) == 1 {
		p := batch[0]
		p.results, p.err = sendWrites(ctx, p.client, did, p.writes)
		return
	}
	var writes []recordWrite
	for _, p := range batch {
		writes = append(writes, p.writes...)
	}
	results, err := sendWrites(ctx, batch[0].client, did, writes)
	if err == nil {
		for _, p := range batch {
			p.results, results = results[:len(p.writes):len(p.writes)], results[len(p.writes):]
		}
		return
	}
	if errors.Is(err, registry.ErrNoSession) {
		for _, p := range batch {
			p.err = err
		}
		return
	}
	b.log.InfoContext(ctx, "storage: applyWrites of several pushes failed; sending each alone", "owner", did, "pushes", len(batch), "err", err)
	for _, p := range batch {
		p.results, p.err = sendWrites(ctx, p.client, did, p.writes)
	}
}
