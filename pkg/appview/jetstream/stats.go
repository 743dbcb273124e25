package jetstream

import (
	"sync/atomic"
	"time"
)

// Stats are the consumer's counters since New.
type Stats struct {
	// Events is every event the handler applied (or refused), of all kinds.
	Events     int64
	Commits    int64
	Identities int64
	Accounts   int64
	// Invalid counts messages that were not well-formed events (bad JSON,
	// a malformed DID, collection, record key or CID, too large); skipped.
	Invalid int64
	// Ignored counts well-formed events of unknown kinds or unwanted
	// collections; skipped.
	Ignored int64
	// Rejected counts events the handler refused with ErrInvalidRecord.
	Rejected int64
	// HandlerErrors counts other handler failures (each one a reconnect).
	HandlerErrors int64
	// Reconnects counts connections after the first (and failed dials).
	Reconnects int64
	Connected  bool
	// Queued is how many decoded events wait in the queue for the handler
	// (at most Options.QueueEvents).
	Queued int64
	// Cursor is the time_us of the newest applied event; SavedCursor the
	// last one the CursorStore accepted.
	Cursor      int64
	SavedCursor int64
	// Lag is how far behind Jetstream's clock the newest applied event was
	// when it was applied.
	Lag time.Duration
}

// counters are the live values behind Stats.
type counters struct {
	events, commits, identities, accounts     atomic.Int64
	invalid, ignored, rejected, handlerErrors atomic.Int64
	reconnects                                atomic.Int64
	connected                                 atomic.Bool
	cursor, savedCursor                       atomic.Int64
	lag                                       atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Events: c.events.Load(), Commits: c.commits.Load(), Identities: c.identities.Load(), Accounts: c.accounts.Load(),
		Invalid: c.invalid.Load(), Ignored: c.ignored.Load(), Rejected: c.rejected.Load(), HandlerErrors: c.handlerErrors.Load(),
		Reconnects: c.reconnects.Load(), Connected: c.connected.Load(),
		Cursor: c.cursor.Load(), SavedCursor: c.savedCursor.Load(), Lag: time.Duration(c.lag.Load()),
	}
}
