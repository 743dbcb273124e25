package scan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"atcr.io/pkg/oci"
)

// Reasons of an image index's record.
const (
	reasonIndexNoLinux  = "image index without linux platform manifests"
	reasonIndexSkipped  = "image index: none of its platform manifests could be scanned"
	reasonIndexFailed   = "image index: scanning its platform manifests failed"
	indexScannerUnknown = "none"
)

// EnqueueIndex records a verified image index and its linux platform
// manifests (children, by digest). An index is not scanned itself: each
// platform manifest is, as its own push announced it, and the index's
// record sums their counts once every one of them has a result (see
// summariseIndex). A child this hold knows but never scanned is queued now.
// An index without linux children is recorded as skipped at once.
func (q *Queue) EnqueueIndex(ctx context.Context, index Job, children []oci.Digest) error {
	if index.Image.Digest.IsZero() || index.Manifest == "" || index.Owner == "" {
		return errors.New("scan queue: an index needs a digest, a manifest and an owner")
	}
	img, err := encodeImage(index.Image)
	if err != nil {
		return err
	}
	now := millis(q.now())
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record image index: %w", err)
	}
	defer tx.Rollback()
	if err := putManifest(ctx, tx, index, img, true, now); err != nil {
		return err
	}
	d := index.Image.Digest.String()
	if _, err := tx.ExecContext(ctx, `DELETE FROM index_children WHERE index_digest = ?`, d); err != nil {
		return fmt.Errorf("record image index %s: %w", d, err)
	}
	queued := 0
	for _, c := range children {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO index_children (index_digest, child_digest) VALUES (?, ?)`, d, c.String()); err != nil {
			return fmt.Errorf("record image index %s: %w", d, err)
		}
		// A known child never scanned (pushed while scanning was off).
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (digest, manifest, owner, repository, image, state, due_at, created_at)
			SELECT digest, manifest, owner, repository, image, ?, ?, ? FROM manifests
			WHERE digest = ? AND is_index = 0
			  AND NOT EXISTS (SELECT 1 FROM results WHERE results.digest = manifests.digest)
			ORDER BY verified_at DESC LIMIT 1
			ON CONFLICT(digest) DO NOTHING`, stateQueued, now, now, c.String())
		if err != nil {
			return fmt.Errorf("queue platform manifest %s: %w", c, err)
		}
		n, _ := res.RowsAffected()
		queued += int(n)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record image index %s: %w", d, err)
	}
	if queued > 0 {
		q.Wake()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.summariseIndex(ctx, index.Image.Digest)
}

// summariseIndexesOf summarises every index that lists child.
func (q *Queue) summariseIndexesOf(ctx context.Context, child oci.Digest) error {
	rows, err := q.db.QueryContext(ctx, `SELECT index_digest FROM index_children WHERE child_digest = ?`, child.String())
	if err != nil {
		return fmt.Errorf("indexes of %s: %w", child, err)
	}
	var indexes []oci.Digest
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			rows.Close()
			return fmt.Errorf("indexes of %s: %w", child, err)
		}
		d, err := oci.ParseDigest(raw)
		if err != nil {
			rows.Close()
			return fmt.Errorf("indexes of %s: %w", child, err)
		}
		indexes = append(indexes, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("indexes of %s: %w", child, err)
	}
	for _, d := range indexes {
		if err := q.summariseIndex(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// childResult is a platform manifest's last outcome.
type childResult struct {
	digest  string
	status  sql.NullString
	counts  Counts
	scanner sql.NullString
	pending bool // a scan of it is queued or running
}

// summariseIndex publishes an index's record when every linux platform
// manifest has a result and none is being rescanned: the counts are their
// sum, the status completed when at least one was scanned. The caller
// holds q.mu.
func (q *Queue) summariseIndex(ctx context.Context, index oci.Digest) error {
	rows, err := q.db.QueryContext(ctx, `SELECT c.child_digest, r.status, COALESCE(r.critical, 0), COALESCE(r.high, 0),
		COALESCE(r.medium, 0), COALESCE(r.low, 0), COALESCE(r.total, 0), r.scanner,
		EXISTS (SELECT 1 FROM jobs j WHERE j.digest = c.child_digest)
		FROM index_children c LEFT JOIN results r ON r.digest = c.child_digest
		WHERE c.index_digest = ? ORDER BY c.child_digest`, index.String())
	if err != nil {
		return fmt.Errorf("children of %s: %w", index, err)
	}
	var children []childResult
	for rows.Next() {
		var c childResult
		if err := rows.Scan(&c.digest, &c.status, &c.counts.Critical, &c.counts.High, &c.counts.Medium,
			&c.counts.Low, &c.counts.Total, &c.scanner, &c.pending); err != nil {
			rows.Close()
			return fmt.Errorf("children of %s: %w", index, err)
		}
		children = append(children, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("children of %s: %w", index, err)
	}
	res := Result{Status: StatusSkipped, Reason: reasonIndexNoLinux, ScannerVersion: indexScannerUnknown}
	if len(children) > 0 {
		var ok bool
		if res, ok = sumChildren(children); !ok {
			return nil // not every platform manifest is done yet
		}
	}
	job, ok, err := q.indexJob(ctx, index)
	if err != nil || !ok {
		return err
	}
	if err := q.records.Publish(ctx, job, res); err != nil {
		return fmt.Errorf("publish image index %s: %w", index, err)
	}
	return putResult(ctx, q.db, index, res, q.now())
}

// sumChildren adds up the children's results; ok is false while one of
// them has none or is being scanned again.
func sumChildren(children []childResult) (Result, bool) {
	var (
		res                        = Result{ScannerVersion: indexScannerUnknown}
		completed, skipped, failed int
	)
	for _, c := range children {
		if !c.status.Valid || c.pending {
			return Result{}, false
		}
		switch Status(c.status.String) {
		case StatusCompleted:
			completed++
			res.Counts.Critical += c.counts.Critical
			res.Counts.High += c.counts.High
			res.Counts.Medium += c.counts.Medium
			res.Counts.Low += c.counts.Low
			res.Counts.Total += c.counts.Total
			if c.scanner.String != "" {
				res.ScannerVersion = c.scanner.String
			}
		case StatusFailed:
			failed++
		default:
			skipped++
		}
	}
	switch {
	case completed > 0:
		res.Status = StatusCompleted
		var notes []string
		if failed > 0 {
			notes = append(notes, fmt.Sprintf("%d failed", failed))
		}
		if skipped > 0 {
			notes = append(notes, fmt.Sprintf("%d skipped", skipped))
		}
		res.Reason = fmt.Sprintf("image index: the sum of %d scanned platform manifests", completed)
		if len(notes) > 0 {
			res.Reason += " (" + strings.Join(notes, ", ") + ")"
		}
	case failed > 0:
		res.Status, res.Reason = StatusFailed, reasonIndexFailed
	default:
		res.Status, res.Reason = StatusSkipped, reasonIndexSkipped
	}
	return res, true
}

// indexJob is the job an index's record is published for: its most
// recently verified manifest record.
func (q *Queue) indexJob(ctx context.Context, index oci.Digest) (Job, bool, error) {
	var (
		job Job
		img string
	)
	err := q.db.QueryRowContext(ctx, `SELECT manifest, owner, repository, image FROM manifests
		WHERE digest = ? AND is_index = 1 ORDER BY verified_at DESC LIMIT 1`, index.String()).
		Scan(&job.Manifest, &job.Owner, &job.Repository, &img)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("image index %s: %w", index, err)
	}
	if job.Image, err = decodeImage(img); err != nil {
		return Job{}, false, fmt.Errorf("image index %s: %w", index, err)
	}
	return job, true, nil
}
