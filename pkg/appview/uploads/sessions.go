package uploads

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
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
	hold   holdclient.Hold
	holdID string // the hold's uploadId

	// lock is held by the one request using the session; the fields below
	// are guarded by it.
	lock     chan struct{}
	offset   int64
	parts    []holdclient.Part // sent, in part-number order
	nextPart int               // number of the next part to send
	// buf holds received bytes not yet sent (nil when none); its capacity
	// is reserved in the Manager's memBudget. Between requests it is less
	// than MinPartSize and sized to its contents.
	buf []byte

	lastUsed atomic.Int64 // unix nanoseconds
}

// Start opens an upload session on the owner's push hold.
func (m *Manager) Start(ctx context.Context, repo registry.Repo, expected oci.Digest) (registry.Upload, error) {
	m.sweepUploads()
	if !m.table.reserve(repo.Owner.DID, m.opts.MaxUploads, m.opts.MaxUploadsPerUser) {
		return registry.Upload{}, fmt.Errorf("start upload for %s: %w", repo.Owner.DID, registry.ErrTooManyUploads)
	}
	sess, err := m.openSession(ctx, repo, expected)
	if err != nil {
		m.table.unreserve(repo.Owner.DID)
		return registry.Upload{}, err
	}
	m.table.add(sess)
	return registry.Upload{ID: sess.id}, nil
}

func (m *Manager) openSession(ctx context.Context, repo registry.Repo, expected oci.Digest) (*uploadSession, error) {
	h, err := m.opts.PushHold(ctx, repo.Owner)
	if err != nil {
		return nil, err
	}
	holdID, err := m.hold.InitiateUpload(ctx, h, expected)
	if err != nil {
		return nil, fmt.Errorf("start upload on %s: %w", h.DID, err)
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
	sess.lastUsed.Store(m.now().UnixNano())
	return sess, nil
}

// Get returns the session's state.
func (m *Manager) Get(ctx context.Context, repo registry.Repo, id string) (registry.Upload, error) {
	sess, err := m.acquire(ctx, repo, id)
	if err != nil {
		return registry.Upload{}, err
	}
	defer m.release(sess)
	return sess.state(), nil
}

// Cancel ends the session and aborts it on the hold.
func (m *Manager) Cancel(ctx context.Context, repo registry.Repo, id string) error {
	sess, err := m.acquire(ctx, repo, id)
	if err != nil {
		return err
	}
	defer m.release(sess)
	if m.dropSession(sess) {
		m.abortSession(context.WithoutCancel(ctx), sess)
	}
	return nil
}

// acquire finds the session of the repository and takes its lock.
func (m *Manager) acquire(ctx context.Context, repo registry.Repo, id string) (*uploadSession, error) {
	sess := m.table.get(id)
	if sess == nil || sess.repo != repo.Path() || sess.owner != repo.Owner.DID {
		return nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	select {
	case sess.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("upload %q: %w", id, ctx.Err())
	}
	if m.table.get(id) != sess { // ended while we waited
		<-sess.lock
		return nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	if m.expired(sess) {
		if m.dropSession(sess) {
			m.abortSession(context.WithoutCancel(ctx), sess)
		}
		<-sess.lock
		return nil, fmt.Errorf("upload %q expired: %w", id, registry.ErrUploadUnknown)
	}
	return sess, nil
}

func (m *Manager) release(sess *uploadSession) {
	sess.lastUsed.Store(m.now().UnixNano())
	<-sess.lock
}

func (m *Manager) expired(sess *uploadSession) bool {
	return m.now().Sub(time.Unix(0, sess.lastUsed.Load())) > m.opts.UploadTTL
}

// dropSession removes a session (its lock held, or unreachable) and
// returns the memory it holds to the budget.
func (m *Manager) dropSession(sess *uploadSession) bool {
	if !m.table.remove(sess) {
		return false
	}
	m.budget.free(sess.owner, sess.buf)
	sess.buf = nil
	return true
}

// abortSession tells the hold to discard the session's parts, within ctx
// (request paths pass context.WithoutCancel: a client gone away must not
// stop the clean-up); failures are only logged (the hold expires uploads
// itself).
func (m *Manager) abortSession(ctx context.Context, sess *uploadSession) {
	err := m.hold.AbortUpload(ctx, sess.hold, sess.holdID)
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrUploadUnknown): // the hold already let it go
		m.log.DebugContext(ctx, "uploads: abort upload on hold", "hold", sess.hold.DID, "upload", sess.id, "err", err)
	default:
		m.log.WarnContext(ctx, "uploads: abort upload on hold", "hold", sess.hold.DID, "upload", sess.id, "err", err)
	}
}

// sweepUploads ends sessions idle longer than Options.UploadTTL, at most
// once per sweepInterval; their aborts run in the background.
func (m *Manager) sweepUploads() {
	now := m.now()
	t := m.table
	t.mu.Lock()
	if now.Sub(t.lastSweep) < sweepInterval {
		t.mu.Unlock()
		return
	}
	t.lastSweep = now
	var candidates []*uploadSession
	for _, sess := range t.sessions {
		if m.expired(sess) {
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
		if m.expired(sess) && m.dropSession(sess) {
			m.background.Add(1)
			go func() {
				defer m.background.Done()
				m.abortSession(context.Background(), sess)
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
