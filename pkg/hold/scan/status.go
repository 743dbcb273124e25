package scan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
)

// States of io.atcr.hold.getScanStatus.
const (
	StateQueued   = "queued"
	StateScanning = "scanning"
	StateNone     = "none"
)

// JobState is whether a scan of a manifest is waiting or running.
type JobState struct {
	State string
	// Attempt is the attempt running (scanning) or next to run (queued
	// after a failed attempt); 0 before the first attempt.
	Attempt int
}

// State reports the scan of digest: its job's state, or for an image
// index the most advanced state among its platform manifests' jobs
// (scanning before queued).
func (q *Queue) State(ctx context.Context, digest oci.Digest) (JobState, error) {
	var (
		state    string
		attempts int
	)
	err := q.db.QueryRowContext(ctx, `SELECT state, attempts FROM jobs WHERE digest = ?`, digest.String()).Scan(&state, &attempts)
	if errors.Is(err, sql.ErrNoRows) {
		err = q.db.QueryRowContext(ctx, `SELECT j.state, j.attempts FROM index_children c JOIN jobs j ON j.digest = c.child_digest
			WHERE c.index_digest = ? ORDER BY j.state = ? DESC, j.attempts DESC LIMIT 1`, digest.String(), stateLeased).Scan(&state, &attempts)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return JobState{State: StateNone}, nil
	case err != nil:
		return JobState{}, fmt.Errorf("scan state of %s: %w", digest, err)
	case state == stateLeased:
		return JobState{State: StateScanning, Attempt: attempts}, nil
	case attempts > 0:
		return JobState{State: StateQueued, Attempt: attempts + 1}, nil
	default:
		return JobState{State: StateQueued}, nil
	}
}

// Routes lists io.atcr.hold.getScanStatus, public like the scan records.
func (q *Queue) Routes() []xrpc.Route {
	return []xrpc.Route{{Method: http.MethodGet, NSID: atcr.HoldGetScanStatusNSID, Auth: xrpc.Public, Handler: http.HandlerFunc(q.GetScanStatus)}}
}

// GetScanStatus serves io.atcr.hold.getScanStatus.
func (q *Queue) GetScanStatus(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("digest")
	d, err := oci.ParseDigest(raw)
	if err != nil {
		xrpc.WriteError(w, xrpc.InvalidRequest("digest: "+err.Error()))
		return
	}
	st, err := q.State(r.Context(), d)
	if err != nil {
		if r.Context().Err() == nil { // a caller that left is no failure of ours
			q.log.Error("getScanStatus", "digest", d, "err", err)
		}
		xrpc.WriteError(w, err)
		return
	}
	out := atcr.HoldGetScanStatus_Output{Digest: d.String(), State: st.State}
	if st.Attempt > 0 {
		a := int64(st.Attempt)
		out.Attempt = &a
	}
	// The state changes as workers go: never cache it.
	w.Header().Set("Cache-Control", "no-store")
	_ = xrpc.WriteJSON(w, http.StatusOK, out)
}

// Forget drops what scanning knows of a deleted manifest record: when no
// other record names the same digest, its queued or running job (a running
// worker's Finish then gets ErrNotLeased), its result and its scan record.
// It reports whether the manifest was known.
func (q *Queue) Forget(ctx context.Context, manifest string) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var raw string
	err := q.db.QueryRowContext(ctx, `SELECT digest FROM manifests WHERE manifest = ?`, manifest).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("forget scans of %s: %w", manifest, err)
	}
	d, err := oci.ParseDigest(raw)
	if err != nil {
		return false, fmt.Errorf("forget scans of %s: %w", manifest, err)
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("forget scans of %s: %w", manifest, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM manifests WHERE manifest = ?`, manifest); err != nil {
		return false, fmt.Errorf("forget scans of %s: %w", manifest, err)
	}
	var others int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM manifests WHERE digest = ?`, raw).Scan(&others); err != nil {
		return false, fmt.Errorf("forget scans of %s: %w", manifest, err)
	}
	if others == 0 {
		for _, stmt := range []string{
			`DELETE FROM jobs WHERE digest = ?`,
			`DELETE FROM results WHERE digest = ?`,
			`DELETE FROM index_children WHERE index_digest = ?`,
		} {
			if _, err := tx.ExecContext(ctx, stmt, raw); err != nil {
				return false, fmt.Errorf("forget scans of %s: %w", manifest, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("forget scans of %s: %w", manifest, err)
	}
	if others == 0 {
		if err := q.records.Delete(ctx, d); err != nil {
			return true, fmt.Errorf("delete scan record of %s: %w", d, err)
		}
	}
	return true, nil
}

// Knows reports whether scanning has a record of the manifest.
func (q *Queue) Knows(ctx context.Context, manifest string) (bool, error) {
	var one int
	err := q.db.QueryRowContext(ctx, `SELECT 1 FROM manifests WHERE manifest = ?`, manifest).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up manifest %s: %w", manifest, err)
	}
	return true, nil
}
