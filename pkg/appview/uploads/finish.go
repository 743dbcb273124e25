package uploads

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

// Finished is a completed upload: the blob is stored on Hold.
type Finished struct {
	Hold syntax.DID
	// Size is the number of bytes received.
	Size int64
}

// Finish ends the session: the remainder goes as the last part (an empty
// part for an empty blob, which S3 accepts as the only part), then the hold
// completes the upload and verifies d. A digest mismatch or a refusal for
// quota ends the session; other failures keep it so the PUT can be
// retried.
func (m *Manager) Finish(ctx context.Context, repo registry.Repo, id string, d oci.Digest) (_ Finished, err error) {
	ctx, sess, err := m.acquireToFinish(ctx, repo, id)
	if err != nil {
		return Finished{}, err
	}
	defer func() { err = errors.Join(err, m.release(ctx, sess)) }()
	// ctx is no longer the request's (acquireToFinish): the last part and
	// the completion run to their end when the client goes away meanwhile
	// (only a lost session lock stops them), so the blob is on the hold for
	// the client's retry to find instead of a completion cut off half-way.
	if err := m.loadRemainder(ctx, sess); err != nil {
		return Finished{}, err
	}
	if len(sess.parts) == 0 || len(sess.buf) > 0 {
		n, err := sess.nextPartNumber()
		if err != nil {
			return Finished{}, err
		}
		etag, err := m.hold.SendPart(ctx, sess.hold, sess.holdID, n, sess.buf)
		if err != nil {
			// The bytes stay buffered; a retried PUT sends them again.
			return Finished{}, fmt.Errorf("upload %s: part %d: %w", id, n, err)
		}
		sess.nextPart++
		sess.addPart(n, etag, sess.offset)
		m.budget.free(sess.owner, sess.buf)
		sess.buf = nil
	}
	size, err := m.hold.CompleteUpload(ctx, sess.hold, sess.holdID, d, sess.holdParts())
	if err != nil {
		// Final answers end the session: the hold has discarded the
		// upload (a wrong digest, a refusal for quota) or no longer has
		// it; a retried PUT could not succeed, and the session would hold
		// one of the user's slots until it expires.
		if errors.Is(err, oci.ErrDigestMismatch) || errors.Is(err, registry.ErrUploadUnknown) || errors.Is(err, registry.ErrQuotaExceeded) {
			if m.dropSession(ctx, sess) {
				m.abortSession(context.WithoutCancel(ctx), sess)
			}
		}
		return Finished{}, fmt.Errorf("upload %s: complete as %s: %w", id, d, err)
	}
	if size != sess.offset {
		m.log.WarnContext(ctx, "uploads: hold reports another blob size", "hold", sess.hold.DID, "digest", d, "hold_size", size, "received", sess.offset)
	}
	m.dropSession(ctx, sess)
	return Finished{Hold: sess.hold.DID, Size: sess.offset}, nil
}

// finishWait bounds how long Finish waits for its session once its client
// has left.
const finishWait = 2 * time.Minute

// errFinishWait ends such a wait.
var errFinishWait = errors.New("the client left and the upload session stayed busy")

// acquireToFinish takes the session for Finish. A client may leave as
// soon as its last bytes are read (a monolithic PUT), and taking the
// session must not then fail on the request's end, or the completion never
// runs: the wait goes on without the client, for at most finishWait more.
func (m *Manager) acquireToFinish(ctx context.Context, repo registry.Repo, id string) (context.Context, *uploadSession, error) {
	waitCtx, stopWaiting := context.WithCancelCause(context.WithoutCancel(ctx))
	acquired := make(chan struct{})
	unwatch := context.AfterFunc(ctx, func() {
		t := time.NewTimer(finishWait)
		defer t.Stop()
		select {
		case <-t.C:
			stopWaiting(errFinishWait)
		case <-acquired:
		}
	})
	locked, sess, err := m.acquire(waitCtx, repo, id)
	close(acquired)
	unwatch()
	if err != nil {
		stopWaiting(nil)
		return ctx, nil, err
	}
	// waitCtx is left uncancelled: it carries the work that follows, and
	// its parent is never done, so nothing waits on it to be released.
	return locked, sess, nil
}

// holdParts is the part list completeUpload takes.
func (sess *uploadSession) holdParts() []holdclient.Part {
	parts := make([]holdclient.Part, len(sess.parts))
	for i, p := range sess.parts {
		parts[i] = p.Part
	}
	return parts
}
