package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// sweepInterval: expired sessions are looked for at most this often.
const sweepInterval = time.Minute

// uploadSession is one blob upload in progress. Sessions live in memory
// only: an AppView restart loses them, and clients start their uploads
// again (the hold aborts the orphaned multipart uploads after its own TTL).
type uploadSession struct {
	id     string
	owner  syntax.DID
	repo   string // repository path below the owner: DID and handle names are one repository
	hold   holdRef
	holdID string // the hold's uploadId

	// lock is held by the one request using the session; the fields below
	// are guarded by it.
	lock     chan struct{}
	offset   int64
	parts    []atcr.HoldCompleteUpload_Part // sent, in part-number order
	nextPart int                            // number of the next part to send
	// buf holds received bytes not yet sent (nil when none); its capacity
	// is reserved in the Store's memBudget. Between requests it is less
	// than MinPartSize and sized to its contents.
	buf []byte
	// failed are parts whose send failed, kept to be sent again.
	failed []pendingPart

	lastUsed atomic.Int64 // unix nanoseconds
}

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

// StartUpload implements registry.UploadService.
func (s *Store) StartUpload(ctx context.Context, repo registry.Repo, expected oci.Digest) (registry.Upload, error) {
	s.sweepUploads()
	if !s.uploads.reserve(repo.Owner.DID, s.opts.MaxUploads, s.opts.MaxUploadsPerUser) {
		return registry.Upload{}, fmt.Errorf("start upload for %s: %w", repo.Owner.DID, registry.ErrTooManyUploads)
	}
	sess, err := s.openSession(ctx, repo, expected)
	if err != nil {
		s.uploads.unreserve(repo.Owner.DID)
		return registry.Upload{}, err
	}
	s.uploads.add(sess)
	return registry.Upload{ID: sess.id}, nil
}

func (s *Store) openSession(ctx context.Context, repo registry.Repo, expected oci.Digest) (*uploadSession, error) {
	holdDID, err := s.pushHold(ctx, repo.Owner)
	if err != nil {
		return nil, err
	}
	h, err := s.holdFor(ctx, holdDID, repo.Owner.DID)
	if err != nil {
		return nil, err
	}
	holdID, err := s.hold.initiateUpload(ctx, h, expected)
	if err != nil {
		return nil, fmt.Errorf("start upload on %s: %w", holdDID, err)
	}
	sess := &uploadSession{
		id:       newUploadID(),
		owner:    repo.Owner.DID,
		repo:     repo.Path(),
		hold:     h,
		holdID:   holdID,
		lock:     make(chan struct{}, 1),
		nextPart: 1,
	}
	sess.lastUsed.Store(s.now().UnixNano())
	return sess, nil
}

// BufferedBytes reports the memory upload sessions hold now: part buffers
// being filled or sent, and the remainders of idle sessions, each counted
// by its capacity. It never exceeds Options.MaxBufferedBytes.
func (s *Store) BufferedBytes() int64 { return s.budget.used.Load() }

// GetUpload implements registry.UploadService.
func (s *Store) GetUpload(ctx context.Context, repo registry.Repo, id string) (registry.Upload, error) {
	sess, err := s.acquire(ctx, repo, id)
	if err != nil {
		return registry.Upload{}, err
	}
	defer s.release(sess)
	return sess.state(), nil
}

// CancelUpload implements registry.UploadService.
func (s *Store) CancelUpload(ctx context.Context, repo registry.Repo, id string) error {
	sess, err := s.acquire(ctx, repo, id)
	if err != nil {
		return err
	}
	defer s.release(sess)
	if s.dropSession(sess) {
		s.abortSession(context.WithoutCancel(ctx), sess)
	}
	return nil
}

// acquire finds the session of the repository and takes its lock.
func (s *Store) acquire(ctx context.Context, repo registry.Repo, id string) (*uploadSession, error) {
	sess := s.uploads.get(id)
	if sess == nil || sess.repo != repo.Path() || sess.owner != repo.Owner.DID {
		return nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	select {
	case sess.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("upload %q: %w", id, ctx.Err())
	}
	if s.uploads.get(id) != sess { // ended while we waited
		<-sess.lock
		return nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	if s.expired(sess) {
		if s.dropSession(sess) {
			s.abortSession(context.WithoutCancel(ctx), sess)
		}
		<-sess.lock
		return nil, fmt.Errorf("upload %q expired: %w", id, registry.ErrUploadUnknown)
	}
	return sess, nil
}

func (s *Store) release(sess *uploadSession) {
	sess.lastUsed.Store(s.now().UnixNano())
	<-sess.lock
}

func (s *Store) expired(sess *uploadSession) bool {
	return s.now().Sub(time.Unix(0, sess.lastUsed.Load())) > s.opts.UploadTTL
}

// dropSession removes a session (its lock held, or unreachable) and
// returns the memory it holds to the budget.
func (s *Store) dropSession(sess *uploadSession) bool {
	if !s.uploads.remove(sess) {
		return false
	}
	s.budget.free(sess.buf)
	sess.buf = nil
	for _, p := range sess.failed {
		s.budget.free(p.buf)
	}
	sess.failed = nil
	return true
}

// abortSession tells the hold to discard the session's parts, within ctx
// (request paths pass context.WithoutCancel: a client gone away must not
// stop the clean-up); failures are only logged (the hold expires uploads
// itself).
func (s *Store) abortSession(ctx context.Context, sess *uploadSession) {
	err := s.hold.abortUpload(ctx, sess.hold, sess.holdID)
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrUploadUnknown): // the hold already let it go
		s.log.DebugContext(ctx, "storage: abort upload on hold", "hold", sess.hold.did, "upload", sess.id, "err", err)
	default:
		s.log.WarnContext(ctx, "storage: abort upload on hold", "hold", sess.hold.did, "upload", sess.id, "err", err)
	}
}

// sweepUploads ends sessions idle longer than Options.UploadTTL, at most
// once per sweepInterval; their aborts run in the background.
func (s *Store) sweepUploads() {
	now := s.now()
	t := s.uploads
	t.mu.Lock()
	if now.Sub(t.lastSweep) < sweepInterval {
		t.mu.Unlock()
		return
	}
	t.lastSweep = now
	var candidates []*uploadSession
	for _, sess := range t.sessions {
		if s.expired(sess) {
			candidates = append(candidates, sess)
		}
	}
	t.mu.Unlock()
	for _, sess := range candidates {
		select {
		case sess.lock <- struct{}{}: // idle: nobody is using it
		default:
			continue
		}
		if s.expired(sess) && s.dropSession(sess) {
			s.background.Add(1)
			go func() {
				defer s.background.Done()
				s.abortSession(context.Background(), sess)
			}()
		}
		<-sess.lock
	}
}

func (sess *uploadSession) state() registry.Upload {
	return registry.Upload{ID: sess.id, Offset: sess.offset}
}

// newUploadID returns a random UUID (version 4) naming a session.
func newUploadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
