package scan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RequestRescan marks every scanned manifest (one record per digest) that
// is not queued or being scanned already for a rescan, for when the vulnerability database changed. The marks are in
// the queue's database, so a restart does not lose them; RunRescans turns
// them into jobs at a bounded rate. It returns how many digests were
// marked.
func (q *Queue) RequestRescan(ctx context.Context) (int, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE manifests SET rescan = 1
		WHERE is_index = 0 AND digest IN (SELECT digest FROM results) AND digest NOT IN (SELECT digest FROM jobs)`)
	if err != nil {
		return 0, fmt.Errorf("request rescans: %w", err)
	}
	n, _ := res.RowsAffected()
	q.Wake()
	var digests int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT digest) FROM manifests WHERE rescan = 1`).Scan(&digests); err != nil {
		return int(n), fmt.Errorf("count rescans: %w", err)
	}
	q.log.Info("Rescans requested", "manifests", digests)
	return digests, nil
}

// RequestRescanOutdated marks, like RequestRescan, only the manifests
// whose last result came from another scanner version than current (the
// engine's ScannerVersion names grype and the database's build time): what
// a database changed while the hold was down makes stale, and nothing else.
func (q *Queue) RequestRescanOutdated(ctx context.Context, current string) (int, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE manifests SET rescan = 1
		WHERE is_index = 0 AND digest IN (SELECT digest FROM results WHERE scanner != ?) AND digest NOT IN (SELECT digest FROM jobs)`, current)
	if err != nil {
		return 0, fmt.Errorf("request rescans: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		q.Wake()
		q.log.Info("Rescans requested: results of another scanner version", "manifests", n, "current", current)
	}
	return int(n), nil
}

// RunRescans queues the marked rescans, at most perMinute a minute (one
// every minute/perMinute), until ctx ends; perMinute ≤ 0 disables rescans.
// A digest already queued is not queued twice.
func (q *Queue) RunRescans(ctx context.Context, perMinute int) error {
	if perMinute <= 0 {
		return nil
	}
	gap := time.Minute / time.Duration(perMinute)
	for {
		changed := q.signal()
		did, err := q.rescanOne(ctx)
		if err != nil {
			q.log.Warn("Rescan", "err", err)
		}
		var wake time.Time
		if did || err != nil {
			wake = q.now().Add(gap)
		}
		if did {
			changed = nil // the gap, not the next change, decides
		}
		if err := q.wait(ctx, changed, wake); err != nil {
			return nil
		}
	}
}

// rescanOne queues the rescan of one marked digest.
func (q *Queue) rescanOne(ctx context.Context) (bool, error) {
	var (
		job Job
		img string
	)
	err := q.db.QueryRowContext(ctx, `SELECT manifest, owner, repository, image FROM manifests
		WHERE rescan = 1 ORDER BY verified_at DESC LIMIT 1`).Scan(&job.Manifest, &job.Owner, &job.Repository, &img)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("next rescan: %w", err)
	}
	if job.Image, err = decodeImage(img); err != nil {
		return false, fmt.Errorf("rescan %s: %w", job.Manifest, err)
	}
	now := millis(q.now())
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("rescan %s: %w", job.Manifest, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO jobs (digest, manifest, owner, repository, image, state, due_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(digest) DO NOTHING`,
		job.Image.Digest.String(), job.Manifest, job.Owner, job.Repository, img, stateQueued, now, now)
	if err != nil {
		return false, fmt.Errorf("rescan %s: %w", job.Manifest, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE manifests SET rescan = 0 WHERE digest = ?`, job.Image.Digest.String()); err != nil {
		return false, fmt.Errorf("rescan %s: %w", job.Manifest, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("rescan %s: %w", job.Manifest, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.Wake()
	}
	return true, nil
}
