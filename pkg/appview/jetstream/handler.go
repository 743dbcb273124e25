package jetstream

import (
	"context"
	"errors"
)

// Handler applies commit events. The consumer calls it from one goroutine,
// in the order Jetstream sent the events, and saves a cursor only after the
// handler returned for every event up to it.
//
// HandleCommit must be idempotent: after a reconnect the events of the
// rewind window arrive again. Its error decides what happens next:
//
//   - nil: applied; the cursor may move past the event.
//   - an error wrapping ErrInvalidRecord: the record was refused (it does
//     not match its lexicon, say); counted in Stats.Rejected and skipped.
//   - any other error: not applied (the database is unavailable, say). The
//     consumer drops the connection and, after a backoff, reconnects from
//     the cursor of the last applied event, so the event comes again.
type Handler interface {
	HandleCommit(ctx context.Context, c Commit) error
}

// IdentityHandler is implemented by handlers that want identity events
// (handle changes). Jetstream sends them whatever the collection filter.
type IdentityHandler interface {
	HandleIdentity(ctx context.Context, id Identity) error
}

// AccountHandler is implemented by handlers that want account events
// (deactivation, takedown, deletion).
type AccountHandler interface {
	HandleAccount(ctx context.Context, a Account) error
}

// ErrInvalidRecord is what a handler wraps to refuse an event for good.
var ErrInvalidRecord = errors.New("jetstream: invalid record")

// CursorStore keeps the consumer's cursor (a time_us) across restarts.
type CursorStore interface {
	// LoadCursor returns the saved cursor, or 0 when there is none (the
	// consumer then starts at the live edge of the stream).
	LoadCursor(ctx context.Context) (int64, error)
	// SaveCursor stores the cursor; it is called with non-decreasing values.
	SaveCursor(ctx context.Context, timeUS int64) error
}
