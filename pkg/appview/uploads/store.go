package uploads

import (
	"context"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// sessionStore keeps the open sessions, counts them against the caps and
// lets one request at a time use a session. memStore keeps them in this
// process (the default); redisStore in Redis, shared by every AppView of a
// cluster, so a PATCH, GET or PUT may land on any of them.
type sessionStore interface {
	// reserve counts a session about to open under id, refusing beyond
	// maxTotal open sessions in all or maxPerOwner of owner's.
	reserve(ctx context.Context, id string, owner syntax.DID, maxTotal, maxPerOwner int) (bool, error)
	// unreserve takes back a reservation whose session did not open.
	unreserve(ctx context.Context, id string, owner syntax.DID)
	// add stores a session just opened under its reserved id.
	add(ctx context.Context, sess *uploadSession) error
	// acquire finds session id and takes its lock, waiting like a mutex
	// until ctx ends. The returned context ends when the lock is lost
	// (shared stores). A shared store leaves the remainder where it is
	// (uploadSession.stored) until loadRemainder.
	acquire(ctx context.Context, id string) (context.Context, *uploadSession, error)
	// loadRemainder returns the stored bytes of the session's remainder
	// (sess.stored of them); shared stores only.
	loadRemainder(ctx context.Context, sess *uploadSession) ([]byte, error)
	// peek returns a copy of session id's state as of its last release,
	// without its lock or remainder, for GET: a request holding the lock
	// does not make GET wait.
	peek(ctx context.Context, id string) (*uploadSession, error)
	// checkpoint saves sess as of a part boundary: parts (sent without a
	// gap from part 1), the offset where the last ends, no remainder. A
	// part's send calls it as it finishes, while the request streams on,
	// so it reads only the session's fixed fields. A no-op for stores
	// whose sessions die with the process.
	checkpoint(ctx context.Context, sess *uploadSession, parts []sentPart) error
	// release saves sess (shared stores) and lets the next request have it.
	release(ctx context.Context, sess *uploadSession) error
	// remove ends sess, whose lock the caller holds (or which nobody can
	// reach); false when it had already ended.
	remove(ctx context.Context, sess *uploadSession) bool
	// sweep removes the sessions idle longer than ttl at now that no
	// request is using, at most once per sweepInterval across the
	// processes sharing the store (so only one of them aborts a session),
	// and returns them for their aborts.
	sweep(ctx context.Context, now time.Time, ttl time.Duration) []*uploadSession
	// reserveParked counts n bytes (or what sess keeps there now, if
	// more) as what sess may leave in the store between requests, unless
	// that takes the bytes the owner's sessions keep there past limit:
	// false then. A shared store's remainders; a local store's count in
	// the memory budget, and it always answers true.
	reserveParked(ctx context.Context, sess *uploadSession, n, limit int64) (bool, error)
	// local reports whether the sessions live in this process only: then
	// Close aborts them on their holds, and the remainder stays in memory
	// between requests.
	local() bool
	// open lists the sessions of this process, for Close (local stores).
	open() []*uploadSession
}
