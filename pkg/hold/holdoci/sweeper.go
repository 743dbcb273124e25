package holdoci

import (
	"context"
	"errors"
	"fmt"
	"time"

	"atcr.io/pkg/s3"
)

// sweepBatch bounds how many expired sessions one query returns.
const sweepBatch = 100

// Start runs the expiry sweeper in the background: once right away (to
// catch sessions that expired while the hold was down), then every
// SweepInterval. Calling Start again while it runs does nothing.
func (h *Handlers) Start(ctx context.Context) {
	h.sweepMu.Lock()
	defer h.sweepMu.Unlock()
	if h.sweepStop != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	h.sweepStop, h.sweepDone = cancel, done
	go func() {
		defer close(done)
		ticker := time.NewTicker(h.sweepEvery)
		defer ticker.Stop()
		for {
			if n, err := h.SweepExpired(ctx); err != nil && ctx.Err() == nil {
				h.log.Warn("upload session sweep failed", "swept", n, "err", err)
			} else if n > 0 {
				h.log.Info("expired upload sessions aborted", "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
}

// Stop ends the sweeper started by Start and waits for it to finish.
func (h *Handlers) Stop() {
	h.sweepMu.Lock()
	stop, done := h.sweepStop, h.sweepDone
	h.sweepStop, h.sweepDone = nil, nil
	h.sweepMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// SweepExpired aborts the S3 multipart upload and deletes the staging object
// of every session past its expiry, then forgets the session. Sessions a
// request is working on right now are left for the next sweep. It returns how
// many sessions it removed; a failure on one session does not stop the others.
func (h *Handlers) SweepExpired(ctx context.Context) (int, error) {
	swept := 0
	var errs []error
	// Completed blobs never announced stop counting against quota once an
	// upload session of theirs would have expired; old pins go too.
	now := h.now()
	if err := h.sessions.prunePending(ctx, now.Add(-h.ttl)); err != nil {
		errs = append(errs, err)
	}
	if err := h.sessions.prunePins(ctx, now.Add(-pinKeep)); err != nil {
		errs = append(errs, err)
	}
	busy := map[string]bool{} // skipped this round; keeps the loop finite
	for {
		batch, err := h.sessions.expiredBefore(ctx, h.now(), sweepBatch+len(busy))
		if err != nil {
			return swept, err
		}
		progressed := false
		for _, sess := range batch {
			if busy[sess.ID] {
				continue
			}
			unlock, ok := h.uploadLocks.TryLock(sess.ID)
			if !ok {
				busy[sess.ID] = true
				continue
			}
			err := h.discardSession(ctx, sess)
			unlock()
			if err != nil {
				errs = append(errs, err)
				busy[sess.ID] = true // retried on the next sweep
				continue
			}
			swept++
			progressed = true
		}
		if !progressed || len(batch) < sweepBatch+len(busy) {
			return swept, errors.Join(errs...)
		}
	}
}

// discardSession drops everything an upload left in S3 and then the session
// itself. Both S3 steps tolerate "already gone", so it is safe to repeat.
// The caller holds the session's lock.
func (h *Handlers) discardSession(ctx context.Context, sess session) error {
	key, err := s3.UploadKey(sess.ID)
	if err != nil {
		// Never written by us; nothing in S3 can be named after it.
		return h.sessions.delete(ctx, sess.ID)
	}
	if !sess.Assembled {
		err := h.s3.AbortMultipartUpload(ctx, key, sess.S3UploadID)
		if err != nil && !errors.Is(err, s3.ErrNotFound) {
			return fmt.Errorf("discard upload %s: %w", sess.ID, err)
		}
	}
	// A completed-but-unmoved upload (or one whose abort raced a completion)
	// leaves a staging object.
	if err := h.s3.Delete(ctx, key); err != nil {
		return fmt.Errorf("discard upload %s: %w", sess.ID, err)
	}
	return h.sessions.delete(ctx, sess.ID)
}
