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

// uploadSession is one blob upload in progress, in this process's memory
// (memStore) or loaded from Redis for one request (redisStore).
type uploadSession struct {
	id     string
	owner  syntax.DID
	repo   string // repository path below the owner: DID and handle names are one repository
	hold   holdclient.Hold
	holdID string // the hold's uploadId

	// lock is memStore's: held by the one request using the session. The
	// fields below are guarded by the session's lock (memStore's or the
	// Redis lock, whose token and renewal are in held).
	lock     chan struct{}
	held     *heldLock
	offset   int64
	parts    []sentPart // sent, in part-number order
	nextPart int        // number of the next part to send
	// buf holds received bytes not yet sent (nil when none); its capacity
	// is reserved in the Manager's memBudget. Between requests it is less
	// than MinPartSize and sized to its contents (with Redis: it is saved
	// there and dropped from memory).
	buf []byte
	// stored is how many bytes of the remainder are kept in Redis and not
	// in buf (the remainder is those, then buf): a small chunk is appended
	// there without loading what precedes it.
	stored int

	lastUsed atomic.Int64 // unix nanoseconds
	// released is memStore's offset as of the session's last release: what
	// a GET answers without waiting for a request that holds the lock.
	released atomic.Int64
}

// sentPart is a part the hold took, and where it ends in the blob.
type sentPart struct {
	holdclient.Part
	End int64 `json:"end"`
}

// Start opens an upload session on the owner's push hold.
func (m *Manager) Start(ctx context.Context, repo registry.Repo, expected oci.Digest) (registry.Upload, error) {
	m.sweepUploads(ctx)
	id := newUploadID()
	ok, err := m.store.reserve(ctx, id, repo.Owner.DID, m.opts.MaxUploads, m.opts.MaxUploadsPerUser)
	if err != nil {
		return registry.Upload{}, fmt.Errorf("start upload for %s: %w", repo.Owner.DID, err)
	}
	if !ok {
		return registry.Upload{}, fmt.Errorf("start upload for %s: %w", repo.Owner.DID, registry.ErrTooManyUploads)
	}
	sess, err := m.openSession(ctx, id, repo, expected)
	if err == nil {
		err = m.store.add(ctx, sess)
		if err != nil {
			m.abortSession(context.WithoutCancel(ctx), sess)
		}
	}
	if err != nil {
		m.store.unreserve(context.WithoutCancel(ctx), id, repo.Owner.DID)
		return registry.Upload{}, err
	}
	return registry.Upload{ID: sess.id}, nil
}

func (m *Manager) openSession(ctx context.Context, id string, repo registry.Repo, expected oci.Digest) (*uploadSession, error) {
	h, err := m.opts.PushHold(ctx, repo.Owner)
	if err != nil {
		return nil, err
	}
	holdID, err := m.hold.InitiateUpload(ctx, h, expected)
	if err != nil {
		return nil, fmt.Errorf("start upload on %s: %w", h.DID, err)
	}
	sess := &uploadSession{
		id:       id,
		owner:    repo.Owner.DID,
		repo:     repo.Path(),
		hold:     h,
		holdID:   holdID,
		nextPart: 1,
	}
	sess.lastUsed.Store(m.now().UnixNano())
	return sess, nil
}

// Get returns the session's state without waiting for a request that
// holds it: in memory, as of its last release; with Redis, what was last
// saved (a PATCH streaming on another AppView saves at every part
// boundary), so a client whose PATCH was cut resumes from there.
func (m *Manager) Get(ctx context.Context, repo registry.Repo, id string) (registry.Upload, error) {
	sess, err := m.store.peek(ctx, id)
	if err != nil {
		return registry.Upload{}, err
	}
	if !sess.belongsTo(repo) {
		return registry.Upload{}, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	if m.expired(sess) {
		// acquire ends an expired session (and aborts it on the hold);
		// nobody holds one that has been idle this long.
		if _, held, err := m.acquire(ctx, repo, id); err == nil {
			_ = m.release(ctx, held)
		}
		return registry.Upload{}, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	return sess.state(), nil
}

// Cancel ends the session and aborts it on the hold.
func (m *Manager) Cancel(ctx context.Context, repo registry.Repo, id string) error {
	ctx, sess, err := m.acquire(ctx, repo, id)
	if err != nil {
		return err
	}
	defer m.release(ctx, sess)
	if m.dropSession(ctx, sess) {
		m.abortSession(context.WithoutCancel(ctx), sess)
	}
	return nil
}

// acquire finds the session of the repository and takes its lock; the
// context returned ends if the lock is lost (Redis).
func (m *Manager) acquire(ctx context.Context, repo registry.Repo, id string) (context.Context, *uploadSession, error) {
	ctx, sess, err := m.store.acquire(ctx, id)
	if err != nil {
		return ctx, nil, err
	}
	if !sess.belongsTo(repo) {
		m.letGo(ctx, sess)
		return ctx, nil, fmt.Errorf("upload %q: %w", id, registry.ErrUploadUnknown)
	}
	if m.expired(sess) {
		if m.dropSession(ctx, sess) {
			m.abortSession(context.WithoutCancel(ctx), sess)
		}
		m.letGo(ctx, sess)
		return ctx, nil, fmt.Errorf("upload %q expired: %w", id, registry.ErrUploadUnknown)
	}
	return ctx, sess, nil
}

// loadRemainder brings the part of the remainder kept in Redis into
// sess.buf, before the remainder is sent as (the start of) a part. The
// bytes count in the memory budget like any other buffer.
func (m *Manager) loadRemainder(ctx context.Context, sess *uploadSession) error {
	if sess.stored == 0 {
		return nil
	}
	n := sess.remainder()
	if err := m.budget.reserve(ctx, sess.owner, int64(n)); err != nil {
		return err
	}
	stored, err := m.store.loadRemainder(ctx, sess)
	if err == nil && len(stored) != sess.stored {
		err = fmt.Errorf("upload %s: %d bytes of remainder stored, %d expected: %w", sess.id, len(stored), sess.stored, registry.ErrSharedStateUnavailable)
	}
	if err != nil {
		m.budget.release(sess.owner, int64(n))
		return err
	}
	buf := append(append(m.budget.alloc(n), stored...), sess.buf...)
	m.budget.free(sess.owner, sess.buf)
	sess.buf, sess.stored = buf, 0
	return nil
}

// remainder is how many received bytes the session has not sent.
func (sess *uploadSession) remainder() int { return sess.stored + len(sess.buf) }

// release saves the session (Redis) and lets the next request have it.
// With Redis the remainder lives there between requests, so its memory is
// returned here.
func (m *Manager) release(ctx context.Context, sess *uploadSession) error {
	sess.lastUsed.Store(m.now().UnixNano())
	err := m.store.release(context.WithoutCancel(ctx), sess)
	if !m.store.local() {
		m.budget.free(sess.owner, sess.buf)
		sess.buf = nil
	}
	return err
}

// letGo unlocks the session without saving it (nothing changed).
func (m *Manager) letGo(ctx context.Context, sess *uploadSession) {
	if m.store.local() {
		_ = m.store.release(ctx, sess)
		return
	}
	m.budget.free(sess.owner, sess.buf)
	sess.buf = nil
	if err := sess.held.unlock(context.WithoutCancel(ctx)); err != nil {
		m.log.WarnContext(ctx, "uploads: unlock session", "upload", sess.id, "err", err)
	}
}

func (m *Manager) expired(sess *uploadSession) bool {
	return sess.idleSince(m.now()) > m.opts.UploadTTL
}

func (sess *uploadSession) idleSince(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, sess.lastUsed.Load()))
}

func (sess *uploadSession) belongsTo(repo registry.Repo) bool {
	return sess.repo == repo.Path() && sess.owner == repo.Owner.DID
}

// dropSession removes a session (its lock held, or unreachable) and
// returns the memory it holds to the budget.
func (m *Manager) dropSession(ctx context.Context, sess *uploadSession) bool {
	if !m.store.remove(context.WithoutCancel(ctx), sess) {
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
// once per sweepInterval (across AppViews with Redis); their aborts run in
// the background.
func (m *Manager) sweepUploads(ctx context.Context) {
	for _, sess := range m.store.sweep(context.WithoutCancel(ctx), m.now(), m.opts.UploadTTL) {
		m.budget.free(sess.owner, sess.buf)
		sess.buf = nil
		m.background.Add(1)
		go func() {
			defer m.background.Done()
			m.abortSession(context.Background(), sess)
		}()
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
