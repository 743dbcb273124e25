package scan

import (
	"context"
	"fmt"
	"time"

	"atcr.io/pkg/oci"
)

// The reports of workers on the jobs leased to them (Finish, Fail,
// Release) and the final step of every job (complete).

// leased reads a job and checks it is leased to worker.
func (q *Queue) leased(ctx context.Context, worker string, jobID int64) (jobRow, error) {
	j, ok, err := jobByID(ctx, q.db, jobID)
	if err != nil {
		return jobRow{}, err
	}
	if !ok || j.state != stateLeased || j.worker != worker {
		return jobRow{}, ErrNotLeased
	}
	return j, nil
}

// Finish implements Dispatcher: it publishes the result and removes the
// job. A result that cannot be published counts as a failed attempt (the
// job is retried) and the error is returned.
func (q *Queue) Finish(ctx context.Context, worker string, jobID int64, res Result) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, err := q.leased(ctx, worker, jobID)
	if err != nil {
		return err
	}
	switch res.Status {
	case "":
		res.Status = StatusCompleted
	case StatusCompleted, StatusSkipped, StatusFailed:
	default:
		return fmt.Errorf("scan job %d: unknown status %q", jobID, res.Status)
	}
	res.Reason = truncateReason(res.Reason)
	if err := q.complete(ctx, j.Job, res); err != nil {
		if rerr := q.retryLater(ctx, jobID, j.Attempt, "publishing the result failed: "+err.Error(), q.now()); rerr != nil {
			q.log.Error("Requeue scan job", "job", jobID, "err", rerr)
		}
		q.Wake()
		return err
	}
	q.log.Info("Scan finished", "job", jobID, "digest", j.Image.Digest, "status", res.Status, "attempt", j.Attempt,
		"critical", res.Counts.Critical, "high", res.Counts.High, "total", res.Counts.Total)
	return nil
}

// Fail records a failed attempt of a job leased to worker (its scanner
// returned an error, it crashed): the job is retried after the backoff, or
// recorded as failed with reason once its attempts are used up. Remote
// workers reach it through the subscription; it is not part of Dispatcher.
func (q *Queue) Fail(ctx context.Context, worker string, jobID int64, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, err := q.leased(ctx, worker, jobID)
	if err != nil {
		return err
	}
	q.log.Warn("Scan attempt failed", "job", jobID, "digest", j.Image.Digest, "attempt", j.Attempt, "reason", reason)
	if err := q.retryLater(ctx, jobID, j.Attempt, reason, q.now()); err != nil {
		return err
	}
	q.Wake()
	return nil
}

// Release implements Dispatcher: the job goes back to the queue, due at
// once, and the attempt does not count.
func (q *Queue) Release(ctx context.Context, worker string, jobID int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, err := q.leased(ctx, worker, jobID); err != nil {
		return err
	}
	_, err := q.db.ExecContext(ctx, `UPDATE jobs SET state = ?, worker = '', lease_until = 0, due_at = ?, attempts = MAX(attempts - 1, 0) WHERE id = ?`,
		stateQueued, millis(q.now()), jobID)
	if err != nil {
		return fmt.Errorf("release scan job %d: %w", jobID, err)
	}
	q.Wake()
	return nil
}

// ReleaseWorker gives back every job leased to worker (its connection
// closed); it returns how many.
func (q *Queue) ReleaseWorker(ctx context.Context, worker string) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	res, err := q.db.ExecContext(ctx, `UPDATE jobs SET state = ?, worker = '', lease_until = 0, due_at = ?, attempts = MAX(attempts - 1, 0)
		WHERE state = ? AND worker = ?`, stateQueued, millis(q.now()), stateLeased, worker)
	if err != nil {
		return 0, fmt.Errorf("release scan jobs of %s: %w", worker, err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		q.Wake()
	}
	return int(n), nil
}

// complete publishes a final result, removes the job and keeps the
// outcome; an index waiting for this manifest may then be complete too.
// The caller holds q.mu.
func (q *Queue) complete(ctx context.Context, job Job, res Result) error {
	if err := q.records.Publish(ctx, job, res); err != nil {
		return fmt.Errorf("publish scan of %s: %w", job.Image.Digest, err)
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish scan job %d: %w", job.ID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, job.ID); err != nil {
		return fmt.Errorf("finish scan job %d: %w", job.ID, err)
	}
	if err := putResult(ctx, tx, job.Image.Digest, res, q.now()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish scan job %d: %w", job.ID, err)
	}
	if err := q.summariseIndexesOf(ctx, job.Image.Digest); err != nil {
		// The manifest's own record is out; the index is summarised when
		// its next child finishes or it is pushed again.
		q.log.Warn("Summarise image index", "child", job.Image.Digest, "err", err)
	}
	return nil
}

// putResult keeps the outcome of a digest's last scan.
func putResult(ctx context.Context, tx querier, d oci.Digest, res Result, now time.Time) error {
	c := res.Counts
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO results (digest, status, critical, high, medium, low, total, scanner, scanned_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.String(), string(res.Status), c.Critical, c.High, c.Medium, c.Low, c.Total,
		res.ScannerVersion, millis(now))
	if err != nil {
		return fmt.Errorf("keep scan result of %s: %w", d, err)
	}
	return nil
}
