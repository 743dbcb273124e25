package uploads

import (
	"context"
	"errors"
	"fmt"

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
// completes the upload and verifies d. A digest mismatch ends the session;
// other failures keep it so the PUT can be retried.
func (m *Manager) Finish(ctx context.Context, repo registry.Repo, id string, d oci.Digest) (_ Finished, err error) {
	ctx, sess, err := m.acquire(ctx, repo, id)
	if err != nil {
		return Finished{}, err
	}
	defer func() { err = errors.Join(err, m.release(ctx, sess)) }()
	// The last part and the completion run to their end when the client
	// goes away meanwhile (only a lost session lock stops them): the blob
	// is then on the hold for the client's retry to find, instead of a
	// completion cut off half-way.
	work, stop := detachFromClient(ctx)
	defer stop()
	if err := m.loadRemainder(work, sess); err != nil {
		return Finished{}, err
	}
	if len(sess.parts) == 0 || len(sess.buf) > 0 {
		n, err := sess.nextPartNumber()
		if err != nil {
			return Finished{}, err
		}
		etag, err := m.hold.SendPart(work, sess.hold, sess.holdID, n, sess.buf)
		if err != nil {
			// The bytes stay buffered; a retried PUT sends them again.
			return Finished{}, fmt.Errorf("upload %s: part %d: %w", id, n, err)
		}
		sess.nextPart++
		sess.addPart(n, etag, sess.offset)
		m.budget.free(sess.owner, sess.buf)
		sess.buf = nil
	}
	size, err := m.hold.CompleteUpload(work, sess.hold, sess.holdID, d, sess.holdParts())
	if err != nil {
		if errors.Is(err, oci.ErrDigestMismatch) || errors.Is(err, registry.ErrUploadUnknown) {
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

// holdParts is the part list completeUpload takes.
func (sess *uploadSession) holdParts() []holdclient.Part {
	parts := make([]holdclient.Part, len(sess.parts))
	for i, p := range sess.parts {
		parts[i] = p.Part
	}
	return parts
}
