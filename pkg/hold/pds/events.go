package pds

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/bluesky-social/indigo/events"
	"github.com/bluesky-social/indigo/models"
)

// playbackBatch is how many frames one playback query loads. Frames are read
// in batches so no query stays open while a slow subscriber drains them.
const playbackBatch = 500

// eventStore is the events.EventPersistence behind the firehose. Commits are
// written to the events table inside the commit transaction (persistCommit),
// so Persist only broadcasts; Playback replays stored frames for cursors.
type eventStore struct {
	db      *sql.DB
	closing <-chan struct{} // closed when the PDS closes

	mu        sync.Mutex
	broadcast func(*events.XRPCStreamEvent)

	// caughtUp holds the subscription contexts whose first playback
	// finished (Playback).
	caughtUp sync.Map
}

var _ events.EventPersistence = (*eventStore)(nil)

func (s *eventStore) Persist(_ context.Context, e *events.XRPCStreamEvent) error {
	s.mu.Lock()
	b := s.broadcast
	s.mu.Unlock()
	if b != nil {
		b(e)
	}
	return nil
}

// Playback sends every stored event with seq > since, in order.
//
// events.EventManager.Subscribe plays back twice with the subscriber's
// context: up to near the head, then — once the subscriber is on the live
// stream — up to its first live event. It logs an error of the second at
// ERROR unless it is events.ErrCaughtUp, so a subscriber that leaves (its
// context cancelled) would write an ERROR line each time, which anyone can
// cause. The second playback of a context therefore reports a departure as
// ErrCaughtUp (the live loop then ends as the subscription closes); the
// first reports ErrPlaybackShutdown, which Subscribe logs at WARN.
func (s *eventStore) Playback(ctx context.Context, since int64, cb func(*events.XRPCStreamEvent) error) error {
	_, second := s.caughtUp.LoadAndDelete(ctx)
	err := s.playback(ctx, since, cb)
	switch {
	case second && ctx.Err() != nil && errors.Is(err, events.ErrPlaybackShutdown):
		return events.ErrCaughtUp
	case !second && err == nil:
		s.caughtUp.Store(ctx, struct{}{}) // Subscribe calls again, consuming it
	}
	return err
}

func (s *eventStore) playback(ctx context.Context, since int64, cb func(*events.XRPCStreamEvent) error) error {
	for {
		// EventManager runs one more playback after a subscriber leaves;
		// report that as a shutdown rather than a database error.
		select {
		case <-s.closing:
			return events.ErrPlaybackShutdown
		default:
		}
		if ctx.Err() != nil {
			return events.ErrPlaybackShutdown
		}
		frames, seqs, err := s.loadFrames(ctx, since)
		if err != nil {
			return err
		}
		for i, frame := range frames {
			evt := &events.XRPCStreamEvent{}
			if err := evt.Deserialize(bytes.NewReader(frame)); err != nil {
				return fmt.Errorf("decode event %d: %w", seqs[i], err)
			}
			evt.Preserialized = frame
			if err := cb(evt); err != nil {
				return err
			}
			since = seqs[i]
		}
		if len(frames) < playbackBatch {
			return nil
		}
	}
}

func (s *eventStore) loadFrames(ctx context.Context, since int64) ([][]byte, []int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, frame FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, since, playbackBatch)
	if err != nil {
		return nil, nil, fmt.Errorf("query events after %d: %w", since, err)
	}
	defer rows.Close()
	var frames [][]byte
	var seqs []int64
	for rows.Next() {
		var seq int64
		var frame []byte
		if err := rows.Scan(&seq, &frame); err != nil {
			return nil, nil, fmt.Errorf("scan event: %w", err)
		}
		frames = append(frames, frame)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read events after %d: %w", since, err)
	}
	return frames, seqs, nil
}

// TakeDownRepo is a relay feature; a hold hosts only its own repo.
func (s *eventStore) TakeDownRepo(context.Context, models.Uid) error {
	return errors.New("take-down is not supported by the hold")
}

func (s *eventStore) Flush(context.Context) error { return nil }

func (s *eventStore) Shutdown(context.Context) error { return nil }

func (s *eventStore) SetEventBroadcaster(b func(*events.XRPCStreamEvent)) {
	s.mu.Lock()
	s.broadcast = b
	s.mu.Unlock()
}

// oldestSeq returns the lowest stored event seq (0 when none are stored).
func (p *PDS) oldestSeq(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	if err := p.db.QueryRowContext(ctx, `SELECT MIN(seq) FROM events`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("query oldest event: %w", err)
	}
	return seq.Int64, nil
}
