package scan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"atcr.io/pkg/oci"
)

// Records publishes the outcome of scans: *Publisher writes them as
// io.atcr.hold.scan records in the hold's repository.
type Records interface {
	// Publish writes the record of a finished scan (rescans overwrite it).
	Publish(ctx context.Context, job Job, res Result) error
	// Delete removes the record of a manifest digest, if any.
	Delete(ctx context.Context, digest oci.Digest) error
}

// Defaults of QueueOptions.
const (
	DefaultJobTimeout   = 30 * time.Minute
	DefaultMaxAttempts  = 3
	DefaultRetryBackoff = time.Minute
	// DefaultLeaseMargin is added to the job timeout for a lease: a worker
	// that honours its timeout reports back before its lease expires.
	DefaultLeaseMargin = time.Minute
	// maxReasonLen is the lexicon's bound on statusReason.
	maxReasonLen = 512
)

// QueueOptions configure OpenQueue.
type QueueOptions struct {
	// DataDir holds scans.sqlite (required).
	DataDir string
	// Records receives every final result (required).
	Records Records
	// JobTimeout is how long a worker may take (scanner.job_timeout);
	// a lease lasts JobTimeout + LeaseMargin.
	JobTimeout  time.Duration
	LeaseMargin time.Duration
	// MaxAttempts is how many attempts a job gets before it is recorded
	// as failed (scanner.max_attempts).
	MaxAttempts int
	// RetryBackoff is the wait before the first retry; it doubles with
	// each further attempt (scanner.retry_backoff).
	RetryBackoff time.Duration
	Logger       *slog.Logger
	// Now is the clock (time.Now); tests use internal/testclock and call
	// Wake after moving it.
	Now func() time.Time
}

// Queue is the hold's persistent scan queue and the broadcaster's job side:
// it implements Dispatcher for the in-process and remote workers. Jobs are
// deduplicated by manifest digest. It is safe for concurrent use.
//
// The queue is a SQLite file: it refuses no job and has no length limit
// but the disk. A job is about one row of a few hundred bytes plus its
// layer descriptors (a 100-layer image: ~15 KiB), so a million queued
// jobs are a few GiB at worst; Claim reads one row through an index
// whatever the length.
type Queue struct {
	db          *sql.DB
	records     Records
	lease       time.Duration
	maxAttempts int
	backoff     time.Duration
	log         *slog.Logger
	now         func() time.Time

	// mu serialises the claim path (reaping expired leases, handing out
	// jobs, finalising exhausted ones), so two workers never take one job.
	mu sync.Mutex
	// sigMu guards changed, closed and replaced on every change of the
	// queue: waiting claimers take the channel before they look, so no
	// wake-up is lost.
	sigMu   sync.Mutex
	changed chan struct{}
}

// OpenQueue opens (creating if needed) the queue in opts.DataDir. Jobs a
// previous process had leased to its workers are taken back: the attempt
// counts (a job that brought the hold down must not do so forever) and the
// job is due at once, so a hold killed mid-scan finishes the job after its
// restart.
func OpenQueue(ctx context.Context, opts QueueOptions) (*Queue, error) {
	if opts.DataDir == "" || opts.Records == nil {
		return nil, errors.New("scan queue: DataDir and Records are required")
	}
	q := &Queue{
		records:     opts.Records,
		lease:       orDefault(opts.JobTimeout, DefaultJobTimeout) + orDefault(opts.LeaseMargin, DefaultLeaseMargin),
		maxAttempts: opts.MaxAttempts,
		backoff:     orDefault(opts.RetryBackoff, DefaultRetryBackoff),
		log:         opts.Logger,
		now:         opts.Now,
		changed:     make(chan struct{}),
	}
	if q.maxAttempts <= 0 {
		q.maxAttempts = DefaultMaxAttempts
	}
	if q.log == nil {
		q.log = slog.Default()
	}
	q.log = q.log.With("component", "scanqueue")
	if q.now == nil {
		q.now = time.Now
	}
	db, err := openQueueDB(ctx, opts.DataDir)
	if err != nil {
		return nil, err
	}
	q.db = db
	res, err := db.ExecContext(ctx, `UPDATE jobs SET state = ?, worker = '', lease_until = 0, due_at = ?,
		last_error = 'the hold stopped during attempt ' || attempts WHERE state = ?`, stateQueued, millis(q.now()), stateLeased)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("take back leased scan jobs: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.Info("Scan jobs of the previous run are queued again", "jobs", n)
	}
	return q, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Close closes the database. Workers must have stopped.
func (q *Queue) Close() error { return q.db.Close() }

// Wake makes waiting claimers look at the queue again; the queue calls it
// on every change, tests after moving their clock.
func (q *Queue) Wake() {
	q.sigMu.Lock()
	defer q.sigMu.Unlock()
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *Queue) signal() <-chan struct{} {
	q.sigMu.Lock()
	defer q.sigMu.Unlock()
	return q.changed
}

// Enqueue records a verified manifest and queues a scan of it, unless a
// scan of the same digest is queued or running already (queued reports
// which). A digest scanned before is queued again: that is a rescan. The
// job's ID and Attempt are assigned here.
func (q *Queue) Enqueue(ctx context.Context, job Job) (queued bool, err error) {
	if job.Image.Digest.IsZero() || job.Manifest == "" || job.Owner == "" {
		return false, errors.New("scan queue: a job needs a digest, a manifest and an owner")
	}
	img, err := encodeImage(job.Image)
	if err != nil {
		return false, err
	}
	now := millis(q.now())
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("enqueue scan: %w", err)
	}
	defer tx.Rollback()
	if err := putManifest(ctx, tx, job, img, false, now); err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO jobs (digest, manifest, owner, repository, image, state, due_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(digest) DO NOTHING`,
		job.Image.Digest.String(), job.Manifest, job.Owner, job.Repository, img, stateQueued, now, now)
	if err != nil {
		return false, fmt.Errorf("enqueue scan of %s: %w", job.Image.Digest, err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("enqueue scan of %s: %w", job.Image.Digest, err)
	}
	if n > 0 {
		q.Wake()
	}
	return n > 0, nil
}

// putManifest records (or refreshes) a verified manifest.
func putManifest(ctx context.Context, tx querier, job Job, img string, isIndex bool, now int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO manifests (manifest, digest, owner, repository, image, is_index, verified_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(manifest) DO UPDATE SET
		digest = excluded.digest, owner = excluded.owner, repository = excluded.repository,
		image = excluded.image, is_index = excluded.is_index, verified_at = excluded.verified_at`,
		job.Manifest, job.Image.Digest.String(), job.Owner, job.Repository, img, isIndex, now)
	if err != nil {
		return fmt.Errorf("record manifest %s: %w", job.Manifest, err)
	}
	return nil
}

// Claim implements Dispatcher: it leases the next due job to worker,
// waiting (on the queue's change signal and a timer for the next retry or
// lease expiry, never polling) until there is one or ctx ends.
func (q *Queue) Claim(ctx context.Context, worker string) (Job, error) {
	if worker == "" {
		return Job{}, errors.New("scan queue: a worker needs a name")
	}
	for {
		changed := q.signal()
		job, ok, next, err := q.tryClaim(ctx, worker)
		if err != nil {
			return Job{}, err
		}
		if ok {
			return job, nil
		}
		if err := q.wait(ctx, changed, next); err != nil {
			return Job{}, err
		}
	}
}

// wait blocks until the queue changes, next (if set) arrives, or ctx ends.
func (q *Queue) wait(ctx context.Context, changed <-chan struct{}, next time.Time) error {
	var timer <-chan time.Time
	if !next.IsZero() {
		t := time.NewTimer(max(next.Sub(q.now()), 0))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-timer:
	}
	return nil
}

// tryClaim leases the first due job, if any; otherwise next is when the
// queue next changes by itself (a retry falls due, a lease expires), zero
// when nothing is waiting.
func (q *Queue) tryClaim(ctx context.Context, worker string) (job Job, ok bool, next time.Time, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	if err := q.reapExpired(ctx, now); err != nil {
		return Job{}, false, time.Time{}, err
	}
	for {
		j, err := scanJob(q.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
			WHERE state = ? AND due_at <= ? ORDER BY due_at, id LIMIT 1`, stateQueued, millis(now)))
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return Job{}, false, time.Time{}, fmt.Errorf("claim scan job: %w", err)
		}
		if j.Attempt >= q.maxAttempts {
			// Out of attempts: the last failure is the result.
			reason := fmt.Sprintf("gave up after %d attempts: %s", j.Attempt, j.lastError)
			if err := q.complete(ctx, j.Job, Result{Status: StatusFailed, Reason: truncateReason(reason)}); err != nil {
				// Try again later; the jobs behind it must not wait.
				q.log.Error("Record failed scan", "job", j.ID, "digest", j.Image.Digest, "err", err)
				if _, err := q.db.ExecContext(ctx, `UPDATE jobs SET due_at = ? WHERE id = ?`, millis(now.Add(q.backoff)), j.ID); err != nil {
					return Job{}, false, time.Time{}, fmt.Errorf("postpone scan job %d: %w", j.ID, err)
				}
			}
			continue
		}
		if _, err := q.db.ExecContext(ctx, `UPDATE jobs SET state = ?, attempts = attempts + 1, worker = ?, lease_until = ? WHERE id = ?`,
			stateLeased, worker, millis(now.Add(q.lease)), j.ID); err != nil {
			return Job{}, false, time.Time{}, fmt.Errorf("lease scan job %d: %w", j.ID, err)
		}
		j.Attempt++
		q.log.Debug("Scan job leased", "job", j.ID, "digest", j.Image.Digest, "worker", worker, "attempt", j.Attempt)
		return j.Job, true, time.Time{}, nil
	}
	var due, lease sql.NullInt64
	err = q.db.QueryRowContext(ctx, `SELECT (SELECT MIN(due_at) FROM jobs WHERE state = ?), (SELECT MIN(lease_until) FROM jobs WHERE state = ?)`,
		stateQueued, stateLeased).Scan(&due, &lease)
	if err != nil {
		return Job{}, false, time.Time{}, fmt.Errorf("next scan job: %w", err)
	}
	for _, v := range []sql.NullInt64{due, lease} {
		if v.Valid && (next.IsZero() || v.Int64 < millis(next)) {
			next = time.UnixMilli(v.Int64)
		}
	}
	return Job{}, false, next, nil
}

// reapExpired queues again, with backoff, every job whose lease expired:
// its worker hung or went away without a word.
func (q *Queue) reapExpired(ctx context.Context, now time.Time) error {
	rows, err := q.db.QueryContext(ctx, `SELECT id, attempts, worker FROM jobs WHERE state = ? AND lease_until <= ?`, stateLeased, millis(now))
	if err != nil {
		return fmt.Errorf("find expired scan leases: %w", err)
	}
	type expired struct {
		id       int64
		attempts int
		worker   string
	}
	var list []expired
	for rows.Next() {
		var e expired
		if err := rows.Scan(&e.id, &e.attempts, &e.worker); err != nil {
			rows.Close()
			return fmt.Errorf("find expired scan leases: %w", err)
		}
		list = append(list, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find expired scan leases: %w", err)
	}
	for _, e := range list {
		reason := fmt.Sprintf("worker %s did not report within %s", e.worker, q.lease)
		q.log.Warn("Scan lease expired", "job", e.id, "worker", e.worker, "attempt", e.attempts)
		if err := q.retryLater(ctx, e.id, e.attempts, reason, now); err != nil {
			return err
		}
	}
	return nil
}

// retryLater queues a job again after a failed attempt: due after the
// backoff for its attempt count (doubling), or at once when the attempts
// are used up, so the next claim records it as failed.
func (q *Queue) retryLater(ctx context.Context, id int64, attempts int, reason string, now time.Time) error {
	due := now
	if attempts < q.maxAttempts {
		due = now.Add(q.backoffFor(attempts))
	}
	_, err := q.db.ExecContext(ctx, `UPDATE jobs SET state = ?, worker = '', lease_until = 0, due_at = ?, last_error = ? WHERE id = ?`,
		stateQueued, millis(due), truncateReason(reason), id)
	if err != nil {
		return fmt.Errorf("requeue scan job %d: %w", id, err)
	}
	return nil
}

// backoffFor is the wait after the attempts-th failed attempt.
func (q *Queue) backoffFor(attempts int) time.Duration {
	d := q.backoff
	for i := 1; i < attempts && d < 24*time.Hour; i++ {
		d *= 2
	}
	return d
}

// truncateReason keeps a reason within the lexicon's maxLength (UTF-8
// bytes), cut at a character boundary.
func truncateReason(s string) string {
	if len(s) <= maxReasonLen {
		return s
	}
	cut := maxReasonLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
