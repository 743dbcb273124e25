package uploads

import (
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// uploadTable indexes the open sessions and counts them per owner.
type uploadTable struct {
	mu        sync.Mutex
	sessions  map[string]*uploadSession
	perOwner  map[syntax.DID]int
	total     int // reserved sessions, open or opening
	lastSweep time.Time
}

func newUploadTable() *uploadTable {
	return &uploadTable{sessions: map[string]*uploadSession{}, perOwner: map[syntax.DID]int{}}
}

// reserve counts a session about to open, refusing beyond the limits.
func (t *uploadTable) reserve(owner syntax.DID, maxTotal, maxPerOwner int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total >= maxTotal || t.perOwner[owner] >= maxPerOwner {
		return false
	}
	t.perOwner[owner]++
	t.total++
	return true
}

func (t *uploadTable) unreserve(owner syntax.DID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total--
	if t.perOwner[owner]--; t.perOwner[owner] <= 0 {
		delete(t.perOwner, owner)
	}
}

func (t *uploadTable) add(sess *uploadSession) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sessions[sess.id] = sess
}

func (t *uploadTable) get(id string) *uploadSession {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sessions[id]
}

// remove takes a session out of the table; false if it was not there.
func (t *uploadTable) remove(sess *uploadSession) bool {
	t.mu.Lock()
	if t.sessions[sess.id] != sess {
		t.mu.Unlock()
		return false
	}
	delete(t.sessions, sess.id)
	t.mu.Unlock()
	t.unreserve(sess.owner)
	return true
}

// snapshot returns the open sessions.
func (t *uploadTable) snapshot() []*uploadSession {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := make([]*uploadSession, 0, len(t.sessions))
	for _, sess := range t.sessions {
		all = append(all, sess)
	}
	return all
}
