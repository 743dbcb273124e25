package backfill

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"atcr.io/pkg/appview/index"
)

// Defaults of SchedulerOptions.
const (
	DefaultWorkers       = 2
	DefaultQueue         = 1_000
	DefaultRetryAfter    = 5 * time.Minute
	DefaultMaxRetryAfter = 6 * time.Hour
	DefaultMaxFailures   = 10_000
	DefaultTimeout       = 2 * time.Minute
	// DefaultHoldWorkers, DefaultHoldQueue and DefaultHoldsPerAccount are
	// the lane of holds named only by manifests (NoticeHold).
	DefaultHoldWorkers     = 1
	DefaultHoldQueue       = 100
	DefaultHoldsPerAccount = 10
	// holdBudgetWindow is the period HoldsPerAccount counts over.
	holdBudgetWindow = time.Hour
	// maxNamers bounds the accounts whose hold budget is remembered; when
	// full it is cleared (the budgets start again).
	maxNamers = 10_000
)

// SchedulerOptions configures NewScheduler. The zero value uses the
// defaults.
type SchedulerOptions struct {
	// Workers is how many backfills run at once.
	Workers int
	// Queue is how many DIDs may wait; more are not queued (Notice never
	// waits) but recorded as failed, so they are tried at their next event
	// after RetryAfter.
	Queue int
	// RetryAfter is how long after a failure a DID's next event schedules
	// it again; it doubles with every failure up to MaxRetryAfter.
	RetryAfter, MaxRetryAfter time.Duration
	// MaxFailures bounds the failed DIDs remembered; when full, the one
	// due soonest is forgotten (its account is backfilled only when named
	// on the command line, or when the index loses its rows).
	MaxFailures int
	// Timeout bounds one backfill.
	Timeout time.Duration
	// HoldWorkers and HoldQueue are the workers and queue of the holds
	// that manifests name (NoticeHold), apart from the accounts' so that
	// holds an account names, which it chooses freely, never delay other
	// accounts' backfills. HoldsPerAccount is how many such holds one
	// account may have scheduled per hour; more wait for a later event
	// (recorded as failed, like a full queue).
	HoldWorkers, HoldQueue, HoldsPerAccount int
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// SchedulerStats are the scheduler's counters since NewScheduler.
type SchedulerStats struct {
	Scheduled, Succeeded, Failed, Dropped int64
	// OverBudget counts holds not scheduled because the account naming
	// them had used its HoldsPerAccount.
	OverBudget int64
	// Waiting is how many DIDs are queued or running; Retrying how many
	// failed ones wait for their next event.
	Waiting, Retrying int
}

// Scheduler backfills, in the background, the accounts the Jetstream sink
// meets for the first time (it is the sink's index.DIDWatcher): a bounded
// queue, a fixed number of workers, each DID at most once at a time, and a
// failed DID tried again at its next event once its backoff has passed.
type Scheduler struct {
	account func(ctx context.Context, did string) error
	opts    SchedulerOptions
	log     *slog.Logger
	queue   chan string
	// holdQueue is the lane of holds named by manifests (NoticeHold).
	holdQueue chan string

	mu     sync.Mutex
	active map[string]bool // queued or running
	failed map[string]failure
	// namers are the hold budgets of the accounts naming holds.
	namers  map[string]budget
	idle    chan struct{} // closed while nothing is active
	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	scheduled, succeeded, failures, dropped, overBudget atomic.Int64
}

type failure struct {
	attempts int
	retryAt  time.Time
	// asHold: the DID failed in the holds' lane (named by a manifest). If
	// it then writes records itself it is an account, whatever any other
	// account named it as, and its backoff does not hold it back.
	asHold bool
}

// budget is what an account has used of HoldsPerAccount since start.
type budget struct {
	start time.Time
	used  int
}

var _ index.DIDWatcher = (*Scheduler)(nil)

// errQueueFull is the failure recorded for a DID the queue had no room for.
var errQueueFull = errors.New("backfill queue full")

// NewScheduler returns a scheduler running b.Account. Start its workers
// with Start; Close stops them.
func NewScheduler(b *Backfiller, opts SchedulerOptions) *Scheduler {
	return newScheduler(func(ctx context.Context, did string) error {
		res, err := b.Account(ctx, did)
		if err == nil {
			b.log.Info("backfill: first-seen account indexed", "did", res.DID, "handle", res.Handle, "rev", res.Rev,
				"records", res.Records, "indexed", res.Indexed, "invalid", res.Invalid)
		}
		return err
	}, opts)
}

func newScheduler(account func(context.Context, string) error, opts SchedulerOptions) *Scheduler {
	set := func(n *int, def int) {
		if *n <= 0 {
			*n = def
		}
	}
	setD := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&opts.Workers, DefaultWorkers)
	set(&opts.Queue, DefaultQueue)
	set(&opts.MaxFailures, DefaultMaxFailures)
	setD(&opts.RetryAfter, DefaultRetryAfter)
	setD(&opts.MaxRetryAfter, DefaultMaxRetryAfter)
	setD(&opts.Timeout, DefaultTimeout)
	set(&opts.HoldWorkers, DefaultHoldWorkers)
	set(&opts.HoldQueue, DefaultHoldQueue)
	set(&opts.HoldsPerAccount, DefaultHoldsPerAccount)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	idle := make(chan struct{})
	close(idle)
	return &Scheduler{
		account: account, opts: opts, log: opts.Logger.With("component", "backfill-scheduler"),
		queue: make(chan string, opts.Queue), holdQueue: make(chan string, opts.HoldQueue),
		active: map[string]bool{}, failed: map[string]failure{}, namers: map[string]budget{}, idle: idle,
	}
}

// Start runs the workers until ctx ends or Close.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	for range s.opts.Workers {
		s.wg.Add(1)
		go s.work(ctx, s.queue)
	}
	for range s.opts.HoldWorkers {
		s.wg.Add(1)
		go s.work(ctx, s.holdQueue)
	}
}

// Close stops the workers (a running backfill is cancelled; it is tried
// again after a restart, when the sink meets the account and finds it
// still without rows) and waits for them.
func (s *Scheduler) Close() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
}

// Notice schedules a backfill of did when firstSeen, or when an earlier
// one failed and its backoff has passed; a DID already queued or running
// is not scheduled twice. It never blocks.
func (s *Scheduler) Notice(did string, firstSeen bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.failed[did]; ok && f.asHold {
		delete(s.failed, did)
		firstSeen = true
	}
	if s.due(did, firstSeen) {
		s.enqueueLocked(did, s.queue)
	}
}

// NoticeHold is Notice for a hold that namedBy's manifest names (a DID
// the account chose, not one seen writing): it is backfilled in the holds'
// own lane, and at most HoldsPerAccount of the holds one account names are
// scheduled per hour.
func (s *Scheduler) NoticeHold(hold, namedBy string, firstSeen bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.due(hold, firstSeen) {
		return
	}
	now := s.opts.Now()
	b, ok := s.namers[namedBy]
	if !ok || now.Sub(b.start) >= holdBudgetWindow {
		if len(s.namers) >= maxNamers {
			clear(s.namers)
		}
		b = budget{start: now}
	}
	if b.used >= s.opts.HoldsPerAccount {
		// Not remembered as failed: the DID may be anyone's (an account
		// named by someone else), and it is noticed again at the next
		// record naming it, or at its own first write.
		if n := s.overBudget.Add(1); n <= 10 || n%1000 == 0 {
			s.log.Warn("backfill: an account names too many new holds; this one waits for a later event",
				"hold", hold, "named_by", namedBy, "over_budget_total", n)
		}
		return
	}
	b.used++
	s.namers[namedBy] = b
	s.enqueueLocked(hold, s.holdQueue)
}

// due reports whether did should be scheduled now (under s.mu).
func (s *Scheduler) due(did string, firstSeen bool) bool {
	if s.active[did] {
		return false
	}
	f, failed := s.failed[did]
	switch {
	case failed && s.opts.Now().Before(f.retryAt):
		return false
	case !failed && !firstSeen:
		return false
	}
	return true
}

// enqueueLocked puts did on queue, or records it as dropped when full.
func (s *Scheduler) enqueueLocked(did string, queue chan string) {
	select {
	case queue <- did:
		if len(s.active) == 0 {
			s.idle = make(chan struct{})
		}
		s.active[did] = true
		s.scheduled.Add(1)
	default:
		n := s.dropped.Add(1)
		if n <= 10 || n%1000 == 0 {
			s.log.Warn("backfill: queue full; the account is tried again at its next event", "did", did, "dropped_total", n)
		}
		s.failLocked(did, errQueueFull, queue == s.holdQueue)
	}
}

// Idle waits until no backfill is queued or running, or ctx ends.
func (s *Scheduler) Idle(ctx context.Context) error {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the scheduler's counters.
func (s *Scheduler) Stats() SchedulerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SchedulerStats{Scheduled: s.scheduled.Load(), Succeeded: s.succeeded.Load(), Failed: s.failures.Load(),
		Dropped: s.dropped.Load(), OverBudget: s.overBudget.Load(), Waiting: len(s.active), Retrying: len(s.failed)}
}

func (s *Scheduler) work(ctx context.Context, queue chan string) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case did := <-queue:
			s.run(ctx, did, queue == s.holdQueue)
		}
	}
}

// run backfills did and records the outcome; asHold: from the holds' lane.
func (s *Scheduler) run(ctx context.Context, did string, asHold bool) {
	runCtx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	err := s.account(runCtx, did)
	cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, did)
	switch {
	case err == nil:
		delete(s.failed, did)
		s.succeeded.Add(1)
	case ctx.Err() != nil:
		// Shutting down: not the account's failure.
	default:
		s.failures.Add(1)
		s.failLocked(did, err, asHold)
	}
	if len(s.active) == 0 {
		close(s.idle)
	}
}

// failLocked remembers did's failure with its next retry time.
func (s *Scheduler) failLocked(did string, err error, asHold bool) {
	f, ok := s.failed[did]
	if !ok && len(s.failed) >= s.opts.MaxFailures {
		s.forgetSoonestLocked()
	}
	f.attempts++
	wait := s.opts.RetryAfter
	for i := 1; i < f.attempts && wait < s.opts.MaxRetryAfter; i++ {
		wait *= 2
	}
	wait = min(wait, s.opts.MaxRetryAfter)
	f.retryAt = s.opts.Now().Add(wait)
	f.asHold = asHold
	s.failed[did] = f
	if !errors.Is(err, errQueueFull) {
		s.log.Warn("backfill: first-seen account not indexed; tried again at its next event", "did", did,
			"attempts", f.attempts, "retry_after", wait, "err", err)
	}
}

// forgetSoonestLocked drops the failed DID due soonest (O(MaxFailures),
// only when the table is full).
func (s *Scheduler) forgetSoonestLocked() {
	var victim string
	var at time.Time
	for did, f := range s.failed {
		if victim == "" || f.retryAt.Before(at) {
			victim, at = did, f.retryAt
		}
	}
	delete(s.failed, victim)
}
