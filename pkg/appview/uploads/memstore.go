package uploads

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/registry"
)

// memStore keeps the open sessions in this process's memory and counts
// them per owner: an AppView restart loses them, and clients start their
// uploads again (the hold aborts orphaned multipart uploads after its own
// TTL). A session's lock is a one-slot channel.
type memStore struct {
	mu        sync.Mutex
	sessions  map[string]*uploadSession
	perOwner  map[syntax.DID]int
	total     int // reserved sessions, open or opening
	lastSweep time.Time
}

func newMemStore() *memStore {
	return &memStore{sessions: map[string]*uploadSession{}, perOwner: map[syntax.DID]int{}}
}

func (t *memStore) local() bool { return true }

func (t *memStore) reserve(_ context.Context, _ string, owner syntax.DID, maxTotal, maxPerOwner int) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total >= maxTotal || t.perOwner[owner] >= maxPerOwner {
		return false, nil
	}
	t.perOwner[owner]++
	t.total++
	return true, nil
}

func (t *memStore) unreserve(_ context.Context, _ string, owner syntax.DID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total--
	if t.perOwner[owner]--; t.perOwner[owner] <= 0 {
		delete(t.perOwner, owner)
	}
}

func (t *memStore) add(_ context.Context, sess *uploadSession) error {
	sess.lock = make(chan struct{}, 1)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sessions[sess.id] = sess
	return nil
}

func (t *memStore) get(id string) *uploadSession {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sessions[id]
}

func (t *memStore) acquire(ctx context.Context, id string) (context.Context, *uploadSession, error) {
	sess := t.get(id)
	if sess == nil {
		return ctx, nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	select {
	case sess.lock <- struct{}{}:
	case <-ctx.Done():
		return ctx, nil, fmt.Errorf("upload %q: %w", id, ctx.Err())
	}
	if t.get(id) != sess { // ended while we waited
		<-sess.lock
		return ctx, nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	return ctx, sess, nil
}

// loadRemainder: the remainder is always in sess.buf.
func (t *memStore) loadRemainder(context.Context, *uploadSession) ([]byte, error) { return nil, nil }

// peek answers GET without the session's lock, which a stalled PATCH may
// hold for as long as its body trickles in: the offset as of the last
// release (what the client can resume from), the rest of what GET checks
// being set at creation or atomic.
func (t *memStore) peek(_ context.Context, id string) (*uploadSession, error) {
	sess := t.get(id)
	if sess == nil {
		return nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	cp := &uploadSession{id: sess.id, owner: sess.owner, repo: sess.repo, offset: sess.released.Load()}
	cp.lastUsed.Store(sess.lastUsed.Load())
	return cp, nil
}

// reserveParked: a local session's remainder is in this process's memory
// budget.
func (t *memStore) reserveParked(context.Context, *uploadSession, int64, int64) (bool, error) {
	return true, nil
}

// checkpoint: nothing outlives the process, so there is nothing to save.
func (t *memStore) checkpoint(context.Context, *uploadSession, []sentPart) error { return nil }

func (t *memStore) release(_ context.Context, sess *uploadSession) error {
	sess.released.Store(sess.offset)
	<-sess.lock
	return nil
}

func (t *memStore) remove(_ context.Context, sess *uploadSession) bool {
	t.mu.Lock()
	if t.sessions[sess.id] != sess {
		t.mu.Unlock()
		return false
	}
	delete(t.sessions, sess.id)
	t.mu.Unlock()
	t.unreserve(context.Background(), sess.id, sess.owner)
	return true
}

func (t *memStore) sweep(ctx context.Context, now time.Time, ttl time.Duration) []*uploadSession {
	t.mu.Lock()
	if now.Sub(t.lastSweep) < sweepInterval {
		t.mu.Unlock()
		return nil
	}
	t.lastSweep = now
	var candidates []*uploadSession
	for _, sess := range t.sessions {
		if sess.idleSince(now) > ttl {
			candidates = append(candidates, sess)
		}
	}
	t.mu.Unlock()
	var swept []*uploadSession
	for _, sess := range candidates {
		select {
		case sess.lock <- struct{}{}: // idle: nobody is using it
		default:
			continue
		}
		if sess.idleSince(now) > ttl && t.remove(ctx, sess) {
			swept = append(swept, sess)
		}
		<-sess.lock
	}
	return swept
}

func (t *memStore) open() []*uploadSession {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := make([]*uploadSession, 0, len(t.sessions))
	for _, sess := range t.sessions {
		all = append(all, sess)
	}
	return all
}
